#!/usr/bin/env node
// Side by side in one headless Chromium run (Debian's /usr/bin/chromium driven by
// playwright-core; no browser is downloaded): MobileNetV2 224x224, batch 1, median latency of
//   morsel.wasm (build/wasm/dist, through wasm/js/morsel.ts)
//   TF.js with @tensorflow/tfjs-backend-wasm (SIMD; threads through setThreadsCount)
//   onnxruntime-web, wasm EP (SIMD; numThreads)
// at 1 and 2 threads. onnxruntime-web and morsel run the same ONNX file (torchvision
// MobileNetV2, seeded random weights, bench/compare/export-onnx.py; `morsel convert` imports it);
// TF.js and morsel run the nsfwjs MobileNetV2 TF.js layers model (models/nsfwjs/mobilenet_v2,
// converted by `morsel convert`). Each thread count gets its own page (every engine fixes its
// threads when it starts), served with COOP/COEP by a small server here, so the page is
// cross-origin isolated; within a page the engines alternate in rounds. Also measures page load
// to the first prediction with the cache off (CDP Network.setCacheDisabled) for both morsel
// builds, and the engine's gzipped size.
//
//   node bench/compare/browser-bench.js [--rounds 10] [--per-round 10] [--threads 1,2]
//        [--first-runs 5] [--settle-ms 100] [--real-cores] [--write-docs] [--json OUT.json]
//
// Needs: scripts/build-wasm, scripts/build release, the npm devDependencies (scripts/setup).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, 'build/bench-browser');
const DIST = path.join(ROOT, 'build/wasm/dist');
const NATIVE = path.join(ROOT, 'build/release/morsel');
const NM = path.join(ROOT, 'node_modules');
const SIZE = 224;

function parseArgs(argv) {
  const a = { rounds: 10, perRound: 10, threads: [1, 2], firstRuns: 5, settleMs: 100, writeDocs: false };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--rounds') { a.rounds = Number(v); i++; }
    else if (k === '--per-round') { a.perRound = Number(v); i++; }
    else if (k === '--threads') { a.threads = v.split(',').map(Number); i++; }
    else if (k === '--first-runs') { a.firstRuns = Number(v); i++; }
    else if (k === '--settle-ms') { a.settleMs = Number(v); i++; }
    else if (k === '--real-cores') a.realCores = true;
    else if (k === '--write-docs') a.writeDocs = true;
    else if (k === '--json') { a.json = v; i++; }
    else throw new Error('unknown argument ' + k);
  }
  return a;
}

const median = (v) => {
  const s = [...v].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (v, p) => {
  const s = [...v].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- inputs: engine build, models, page bundles ----
function prepare() {
  for (const f of ['morsel.js', 'morsel.wasm', 'morsel-mt.js', 'morsel-mt.wasm'])
    if (!fs.existsSync(path.join(DIST, f))) throw new Error(`no ${f} in ${DIST}: run scripts/build-wasm`);
  if (!fs.existsSync(NATIVE)) throw new Error(`no ${NATIVE}: run scripts/build release`);
  fs.mkdirSync(path.join(OUT, 'page'), { recursive: true });
  const onnx = path.join(ROOT, 'data/onnx/mobilenet_v2.onnx');
  if (!fs.existsSync(onnx))
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'bench/compare/export-onnx.py'), path.dirname(onnx), 'mobilenet_v2'],
                 { stdio: 'inherit' });
  const tfjsDir = path.join(ROOT, 'models/nsfwjs/mobilenet_v2');
  if (!fs.existsSync(path.join(tfjsDir, 'model.json'))) throw new Error(`no ${tfjsDir}: run scripts/setup`);
  execFileSync(NATIVE, ['convert', onnx, '-o', path.join(OUT, 'mobilenet_v2-onnx.morsel'), '--normalize', 'imagenet'],
               { stdio: 'ignore' });
  execFileSync(NATIVE, ['convert', tfjsDir, '-o', path.join(OUT, 'mobilenet_v2-tfjs.morsel'), '--normalize', 'unit',
                        '--resize', 'bilinear_align_corners'], { stdio: 'ignore' });
  const esbuild = require('esbuild');
  esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'browser/bench-page.ts'), path.join(__dirname, 'browser/first-page.ts')],
    bundle: true, format: 'esm', target: 'es2022', minify: true, outdir: path.join(OUT, 'page'), logLevel: 'error',
  });
  const photo = execFileSync('node', [path.join(ROOT, 'scripts/photos.js'), '1'], { encoding: 'utf8' }).trim();
  return { onnx, tfjsDir, photo };
}

// ---- a static server that makes pages cross-origin isolated ----
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
                '.json': 'application/json', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' };

function serve(inputs) {
  const routes = [
    ['/page/', path.join(OUT, 'page')],
    ['/morsel/', DIST],
    ['/vendor/ort/', path.join(NM, 'onnxruntime-web/dist')],
    ['/models/tfjs/', inputs.tfjsDir],
    ['/models/', OUT],
  ];
  const files = {
    '/bench.html': path.join(__dirname, 'browser/bench.html'),
    '/page/cores.js': path.join(__dirname, 'browser/cores.js'),
    '/first.html': path.join(__dirname, 'browser/first.html'),
    '/photo.jpg': inputs.photo,
    '/models/mobilenet_v2.onnx': inputs.onnx,
    '/vendor/tfjs/tf.min.js': path.join(NM, '@tensorflow/tfjs/dist/tf.min.js'),
    '/vendor/tfjs/tf-backend-wasm.min.js': path.join(NM, '@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js'),
  };
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
    files['/vendor/tfjs/' + f] = path.join(NM, '@tensorflow/tfjs-backend-wasm/dist', f);
  const resolve = (url) => {
    const p = decodeURIComponent(url.split('?')[0]);
    if (files[p]) return files[p];
    for (const [prefix, dir] of routes) {
      if (!p.startsWith(prefix)) continue;
      const f = path.join(dir, p.slice(prefix.length));
      if (f.startsWith(dir + path.sep) && fs.existsSync(f) && fs.statSync(f).isFile()) return f;
    }
    return null;
  };
  const server = http.createServer((req, res) => {
    const f = resolve(req.url);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
                      'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-cache' };
    if (req.url === '/favicon.ico') {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    if (!f) {
      res.writeHead(404, headers);
      res.end('not found');
      return;
    }
    const body = fs.readFileSync(f);
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(f)] || 'application/octet-stream',
                         'Content-Length': body.length });
    res.end(body);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

// ---- the runs ----
async function benchPage(browser, base, threads, a, log) {
  const page = await browser.newPage();
  page.on('console', (m) => log(`  [page] ${m.text()}`));
  page.on('pageerror', (e) => log(`  [page error] ${e.message}`));
  // TF.js's wasm backend runs at most half of navigator.hardwareConcurrency threads whatever
  // setThreadsCount asks: the page reports enough cores for `threads` (unless --real-cores).
  const cores = a.realCores ? 0 : Math.max(os.cpus().length, 2 * threads);
  await page.goto(base + '/bench.html' + (cores ? `?cores=${cores}` : ''));
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
  const config = { threads, size: SIZE, morselOnnx: '/models/mobilenet_v2-onnx.morsel',
                   morselTfjs: '/models/mobilenet_v2-tfjs.morsel', onnx: '/models/mobilenet_v2.onnx',
                   tfjs: '/models/tfjs/model.json' };
  const info = await page.evaluate((c) => window.bench.init(c), config);
  const names = info.engines.map((e) => e.name);
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const inner = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < a.rounds; r++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(r + j) % names.length];  // rotate the order every round
      await sleep(a.settleMs);  // let the previous engine's spinning threads go idle
      const got = await page.evaluate(([name, k]) => window.bench.run(name, k), [n, a.perRound]);
      wall[n].push(...got.wall);
      inner[n].push(...got.inner);
    }
  }
  await page.close();
  return { threads, info, wall, inner };
}

async function firstPrediction(browser, base, threads, runs, model) {
  const ms = [];
  let last = null;
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(`${base}/first.html?threads=${threads}&model=${encodeURIComponent(model)}`);
    await page.waitForFunction(() => window.firstPrediction, null, { timeout: 60000 });
    last = await page.evaluate(() => window.firstPrediction);
    if (last.error) throw new Error('first prediction: ' + last.error);
    ms.push(last.ms);
    await context.close();
  }
  return { threads, ms, median: median(ms), info: last.info, predictions: last.predictions };
}

function sizes() {
  const out = {};
  for (const f of fs.readdirSync(DIST).sort()) {
    const b = fs.readFileSync(path.join(DIST, f));
    out[f] = { bytes: b.length, gzip: zlib.gzipSync(b, { level: 9 }).length };
  }
  return out;
}

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.cpus()[0].model;
  return `${os.cpus().length} cores, ${cpu.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
}

// ---- report ----
function report(a, results, first, size, chromium) {
  const f = (x) => x.toFixed(2);
  const lines = [];
  const cmd = 'node bench/compare/browser-bench.js' + (a.rounds !== 10 ? ` --rounds ${a.rounds}` : '') +
              (a.perRound !== 10 ? ` --per-round ${a.perRound}` : '');
  lines.push('```', cmd, '```', '');
  lines.push(`Chromium ${chromium} (Debian, headless, driven by playwright-core), ${machine()}, ` +
             `${new Date().toISOString().slice(0, 10)}, load average ${a.loadBefore} before the run and ` +
             `${os.loadavg()[0].toFixed(1)} after. ${a.rounds} alternating rounds of ${a.perRound} timed ` +
             `calls per engine after 3 warm-up calls, ${a.settleMs} ms pause between engines; batch 1, 224x224. ` +
             'Wall time per call measured in the page: morsel `classify()` from RGBA pixels (preprocessing, ' +
             'inference, top-5), TF.js `predict()` + `data()`, onnxruntime-web `run()` from a ready tensor.', '');
  lines.push('Each row runs one source model in the peer and its `morsel convert` output in morsel: the ONNX ' +
             'file (torchvision MobileNetV2, seeded random weights, `bench/compare/export-onnx.py`) in ' +
             'onnxruntime-web, the nsfwjs MobileNetV2 TF.js layers model (`models/nsfwjs/mobilenet_v2`) in TF.js.', '');
  lines.push('| source model | threads | peer | peer median ms | morsel median ms | morsel / peer | goal |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = (n) => median(r.wall[n]);
    const rows = [['MobileNetV2 224, ONNX', 'onnxruntime-web', 'morsel (ONNX model)', 0.7],
                  ['MobileNetV2 224, TF.js layers (nsfwjs)', 'TF.js wasm', 'morsel (TF.js model)', 0.5]];
    for (const [desc, peer, mine, goal] of rows) {
      const ratio = m(mine) / m(peer);
      lines.push(`| ${desc} | ${r.threads} | ${peer} | ${f(m(peer))} | ${f(m(mine))} | **${ratio.toFixed(2)}×** | ` +
                 `≤ ${goal}× — ${ratio <= goal ? 'met' : 'not met'} |`);
    }
  }
  const one = results.find((r) => r.threads === 1), two = results.find((r) => r.threads === 2);
  if (one && two) {
    const slower = Object.keys(two.wall).filter((n) => one.wall[n] && median(two.wall[n]) > median(one.wall[n]));
    if (slower.length)
      lines.push('', `With 2 threads ${slower.join(', ')} ran slower than with 1: on ${os.cpus().length} cores the ` +
                     'engine threads share the CPU with the browser\'s own threads and with whatever else runs on ' +
                     'the machine (see the load average).');
  }
  lines.push('');
  lines.push('p90 ms in the same run, and morsel\'s own inference time (`timings.inferenceMs`, median):', '');
  for (const r of results) {
    const parts = Object.keys(r.wall).map((n) => `${n} ${f(pct(r.wall[n], 0.9))}` +
                                           (r.inner[n].length ? ` (inference ${f(median(r.inner[n]))})` : ''));
    lines.push(`- ${r.threads} thread(s): ${parts.join('; ')}`);
  }
  lines.push('', 'What each engine reported it ran with:', '');
  for (const r of results)
    for (const e of r.info.engines) lines.push(`- ${r.threads} thread(s), ${e.name}: ${e.detail}`);
  for (const r of results)
    lines.push(`- ${r.threads} thread(s) page: crossOriginIsolated ${r.info.crossOriginIsolated}, ` +
               `navigator.hardwareConcurrency reported as ${r.info.hardwareConcurrency}` +
               (a.realCores ? '' : ' (bench/compare/browser/cores.js: TF.js\'s wasm backend uses at most half of it, ' +
                                   'whatever setThreadsCount asks)'));
  lines.push('', '**Page load to first prediction**, localhost, browser cache off (CDP `Network.setCacheDisabled`), ' +
             `nsfwjs MobileNetV2 .morsel (${(fs.statSync(path.join(OUT, 'mobilenet_v2-tfjs.morsel')).size / 1e6).toFixed(1)} MB), ` +
             `one food photo, median of ${a.firstRuns} fresh browser contexts: navigation start to the first ` +
             '`classify()` result (fetching the page, the wrapper, the engine and the model included).', '');
  lines.push('| build | threads | median ms | all runs ms |', '|---|---|---|---|');
  for (const fp of first)
    lines.push(`| ${fp.info.multiThreaded ? 'morsel-mt.js + .wasm + .worker.js' : 'morsel.js + morsel.wasm'} | ` +
               `${fp.info.threads} | ${f(fp.median)} | ${fp.ms.map((x) => x.toFixed(0)).join(', ')} |`);
  lines.push('', '**Size** (build/wasm/dist, `gzip -9`):', '', '| file | bytes | gzipped |', '|---|---|---|');
  for (const [name, s] of Object.entries(size)) lines.push(`| ${name} | ${s.bytes} | ${s.gzip} |`);
  const st = size['morsel.js'].gzip + size['morsel.wasm'].gzip;
  const mt = size['morsel-mt.js'].gzip + size['morsel-mt.wasm'].gzip + (size['morsel-mt.worker.js']?.gzip || 0);
  lines.push('', `Engine + glue gzipped: single thread ${(st / 1024).toFixed(1)} KiB, pthreads ${(mt / 1024).toFixed(1)} KiB ` +
             '(goal ≤ 300 KB).');
  return lines.map(wrap).join('\n');
}

// Markdown paragraphs and list items wrapped at 100 columns (tables and code stay as they are).
function wrap(line) {
  if (line.length <= 100 || /^(\||```|#)/.test(line)) return line;
  const indent = line.startsWith('- ') ? '  ' : '';
  const out = [];
  let cur = '';
  for (const word of line.split(' ')) {
    if (cur && cur.length + 1 + word.length > 100) {
      out.push(cur);
      cur = indent + word;
    } else {
      cur = cur ? cur + ' ' + word : word;
    }
  }
  out.push(cur);
  return out.join('\n');
}

const DOC_HEADING = '## Browser: morsel.wasm vs TF.js and onnxruntime-web';

function writeDocs(text) {
  const file = path.join(ROOT, 'docs/benchmarks.md');
  let doc = fs.readFileSync(file, 'utf8');
  const section = `${DOC_HEADING}\n\n${text}\n`;
  const start = doc.indexOf(DOC_HEADING);
  if (start >= 0) {
    const next = doc.indexOf('\n## ', start + DOC_HEADING.length);
    doc = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next) : '');
  } else {
    doc = doc.replace(/\n*$/, '\n\n') + section;
  }
  fs.writeFileSync(file, doc);
}

async function main() {
  const a = parseArgs(process.argv);
  const log = (s) => console.error(s);
  a.loadBefore = os.loadavg()[0].toFixed(1);  // the machine is shared: say how busy it was
  const inputs = prepare();
  const server = await serve(inputs);
  const base = `http://127.0.0.1:${server.address().port}`;
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
                                          args: ['--no-sandbox'] });
  try {
    const results = [];
    for (const t of a.threads) {
      log(`browser-bench: ${t} thread(s), ${a.rounds} rounds x ${a.perRound} calls per engine`);
      results.push(await benchPage(browser, base, t, a, log));
    }
    log('browser-bench: page load to first prediction');
    const first = [];
    for (const t of [1, 2]) first.push(await firstPrediction(browser, base, t, a.firstRuns, '/models/mobilenet_v2-tfjs.morsel'));
    const text = report(a, results, first, sizes(), browser.version());
    console.log(text);
    if (a.json) fs.writeFileSync(a.json, JSON.stringify({ results, first, size: sizes() }, null, 1));
    if (a.writeDocs) writeDocs(text);
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
