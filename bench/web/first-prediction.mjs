#!/usr/bin/env node
// Time from page load to the first in-browser prediction with the browser's HTTP cache off
// (CDP Network.setCacheDisabled). Cold: a fresh profile and no service worker, so every run
// downloads the app, the WebAssembly engine and the model from `morsel serve` on localhost,
// starts the engine and classifies a sample photo. Warm: the installed app, where the service
// worker and the stored model answer instead of the network. Reports the median and range over
// the runs at the marks the app sets (model list, model downloaded, engine ready, first
// prediction), all from navigation start.
//
//   node bench/web/first-prediction.mjs [--runs 7]
//
// Needs scripts/build release, scripts/build-wasm and scripts/build-web first.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { convertTestModel, launchChromium, startServer, webHasEngine, WEB_DIST } from '../../tests/e2e/harness.mjs';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
if (!webHasEngine()) {
  console.error(`first-prediction: ${WEB_DIST} has no in-browser engine; run scripts/build-wasm and scripts/build-web`);
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const model = convertTestModel();
const server = await startServer({ model });
const browser = await launchChromium();
const MARKS = ['domContentLoaded', 'modelsListed', 'downloadStart', 'modelDownloaded', 'engineReady', 'firstPrediction'];
let engine = null;

async function measure(page) {
  await page.waitForFunction(() => performance.getEntriesByName('morsel-first-browser-prediction').length > 0, null, {
    timeout: 120_000,
  });
  const m = await page.evaluate(() => {
    const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      domContentLoaded: nav ? nav.domContentLoadedEventEnd : NaN,
      modelsListed: at('morsel-models-listed'),
      downloadStart: at('morsel-model-download-start'),
      modelDownloaded: at('morsel-model-downloaded'),
      engineReady: at('morsel-engine-ready'),
      firstPrediction: at('morsel-first-browser-prediction'),
      isolated: crossOriginIsolated,
    };
  });
  engine ??= await page.getByTestId('engine-ready').innerText();
  return m;
}

function report(title, rows) {
  for (const [i, m] of rows.entries()) {
    console.log(
      `  run ${i + 1}: first prediction ${m.firstPrediction.toFixed(0)} ms (DOM ready ${m.domContentLoaded.toFixed(0)}, ` +
        `model downloaded ${m.modelDownloaded.toFixed(0)}, engine ready ${m.engineReady.toFixed(0)})`,
    );
  }
  console.log(`\n${title}, ${rows.length} runs (ms from navigation start):`);
  console.log('mark                 median     min     max');
  for (const k of MARKS) {
    const xs = rows.map((r) => r[k]);
    console.log(`${k.padEnd(18)} ${median(xs).toFixed(0).padStart(8)} ${Math.min(...xs).toFixed(0).padStart(7)} ${Math.max(...xs).toFixed(0).padStart(7)}`);
  }
  console.log(`crossOriginIsolated: ${rows.every((r) => r.isolated)}\n`);
}

const url = `${server.url}?mode=browser&sample=0`;
const cold = [];
const warm = [];
try {
  // Cold: a fresh profile every run, HTTP cache off, no service worker.
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(url);
    cold.push(await measure(page));
    await context.close();
  }
  // Warm: the installed app (service worker and stored model), HTTP cache still off.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'allow' });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await page.goto(url);
  await measure(page);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  for (let i = 0; i < 100; i++) {
    const n = await page.evaluate(async () => (await (await caches.open('morsel-models-v1')).keys()).length);
    if (n > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  for (let i = 0; i < RUNS; i++) {
    await page.goto(url);
    warm.push(await measure(page));
  }
  await context.close();
} finally {
  await browser.close();
  await server.stop();
  rmSync(dirname(model), { recursive: true, force: true });
}

report('cold start: localhost, HTTP cache disabled, no service worker', cold);
report('warm start: installed app (service worker + stored model), HTTP cache disabled', warm);
console.log(`engine: ${engine?.replace(/\s+/g, ' ')}`);
