// The WebAssembly engine, through the TypeScript wrapper (wasm/js/morsel.ts, bundled here with
// esbuild), classifies real food photos in node exactly as the native engine does: same top-5
// classes, probabilities within 1e-4. Both engines get the same pixels: each JPEG is decoded once
// (jpeg-js), handed to the wasm engine as RGBA and to `morsel predict --json` as a PNG.
// Two preprocessing setups of the nsfwjs MobileNetV2 (made with `morsel convert`) cover
// align-corners stretch and center crop + ImageNet normalization; a third keeps the model's
// uint8 weights compact (`--keep-weights compact`).
//
//   node --no-experimental-fetch wasm/test/node-parity.mjs WASM_BUILD_DIR [NATIVE_MORSEL]
// WASM_BUILD_DIR holds morsel.js (one thread) or morsel-mt.js (pthreads: the page is made to look
// cross-origin isolated and both engines run on 2 threads). Run by ctest in the wasm and wasm-mt
// presets; exits 77 ("skipped") without the native CLI or the models.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodePng } from '../../scripts/lib/png.mjs';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const wasmDir = path.resolve(process.argv[2] || path.join(root, 'build/wasm/wasm'));
const native = path.resolve(process.argv[3] || path.join(root, 'build/release/morsel'));
const nsfwjs = path.join(root, 'models/nsfwjs/mobilenet_v2');
const PHOTOS = 6;
const TOP_K = 5;
const MT = fs.existsSync(path.join(wasmDir, 'morsel-mt.js'));
const THREADS = MT ? 2 : 1;
const glue = path.join(wasmDir, MT ? 'morsel-mt.js' : 'morsel.js');

for (const [what, p] of [['the native CLI', native], ['the nsfwjs model', nsfwjs], ['the engine', glue]]) {
  if (!fs.existsSync(p)) {
    console.log(`skipped: no ${what} at ${p} (scripts/build release, scripts/setup)`);
    process.exit(77);
  }
}


const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-wasm-parity-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// The wrapper, bundled from its TypeScript source.
async function loadWrapper() {
  const esbuild = require('esbuild');
  const out = path.join(tmp, 'morsel-wrapper.mjs');
  await esbuild.build({ entryPoints: [path.join(root, 'wasm/js/morsel.ts')], bundle: true,
                        format: 'esm', platform: 'neutral', outfile: out, logLevel: 'error' });
  if (MT) {
    globalThis.crossOriginIsolated = true;  // what a page with COOP/COEP headers sees
    globalThis.MorselModuleMT = require(glue);
  } else {
    globalThis.MorselModule = require(glue);
  }
  return import(pathToFileURL(out).href);
}

function photos() {
  const jpeg = require('jpeg-js');
  const list = execFileSync('node', [path.join(root, 'scripts/photos.js'), String(PHOTOS)], { encoding: 'utf8' })
    .trim().split('\n');
  return list.map((file, i) => {
    const img = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true });
    const png = path.join(tmp, `photo-${i}.png`);
    fs.writeFileSync(png, encodePng(img.data, img.width, img.height, { channels: 3 }));
    return { name: path.basename(file), png, pixels: { data: img.data, width: img.width, height: img.height } };
  });
}

const MODELS = [
  ['stretch, align corners, pixels/255', ['--normalize', 'unit', '--resize', 'bilinear_align_corners']],
  ['center crop 0.875, bilinear, ImageNet mean/std', ['--normalize', 'imagenet', '--resize', 'bilinear',
                                                       '--crop', 'center', '--crop-fraction', '0.875']],
  // The source's uint8 weights kept compact in the file (qu8 tensors, format 1.2).
  ['stretch, align corners, pixels/255, compact uint8 weights',
   ['--normalize', 'unit', '--resize', 'bilinear_align_corners', '--keep-weights', 'compact']],
];

// A plain runner: node:test would wait for the pthread build's pool workers, which never exit.
let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAILED ${name}\n  ${e && e.stack ? e.stack : e}`);
  }
}

const morsel = await loadWrapper();
const images = photos();
for (const [i, [desc, flags]] of MODELS.entries()) {
  await check(`${MT ? 'morsel-mt' : 'morsel'}, ${THREADS} thread(s), ${desc}`, async () => {
    const file = path.join(tmp, `model-${i}.morsel`);
    execFileSync(native, ['convert', nsfwjs, '-o', file, ...flags], { stdio: 'ignore' });
    const want = JSON.parse(execFileSync(native, ['predict', file, ...images.map((im) => im.png), '--json',
                                                  '--top-k', String(TOP_K), '--threads', String(THREADS)],
                                         { encoding: 'utf8' }));
    const model = await morsel.load(fs.readFileSync(file).buffer, { wasmBase: wasmDir, threads: THREADS });
    assert.equal(model.info.numClasses, 5);
    assert.equal(model.info.simd, true);
    assert.equal(model.info.multiThreaded, MT);
    assert.equal(model.info.threads, THREADS);
    let maxDiff = 0;
    for (const [j, im] of images.entries()) {
      const got = await model.classify(im.pixels, { topK: TOP_K });
      const exp = want[j].predictions;
      assert.equal(got.predictions.length, exp.length, im.name);
      for (let r = 0; r < exp.length; r++) {
        assert.equal(got.predictions[r].index, exp[r].index, `${im.name} rank ${r}`);
        assert.equal(got.predictions[r].label, exp[r].label, `${im.name} rank ${r}`);
        const d = Math.abs(got.predictions[r].score - exp[r].score);
        assert.ok(d <= 1e-4, `${im.name} rank ${r}: wasm ${got.predictions[r].score} native ${exp[r].score}`);
        maxDiff = Math.max(maxDiff, d);
      }
      assert.ok(got.timings.inferenceMs > 0 && got.timings.totalMs >= got.timings.inferenceMs);
    }
    console.log(`  ${images.length} photos, top-${TOP_K}: same classes, max |p_wasm - p_native| = ${maxDiff.toExponential(2)}`);
    model.dispose();
    await assert.rejects(model.classify(images[0].pixels), /disposed/);
  });
}
await check('two models loaded at once both classify (they share one thread pool)', async () => {
  const opts = { wasmBase: wasmDir, threads: THREADS };
  const a = await morsel.load(fs.readFileSync(path.join(tmp, 'model-0.morsel')).buffer, opts);
  const b = await morsel.load(fs.readFileSync(path.join(tmp, 'model-1.morsel')).buffer, opts);
  assert.equal(b.info.threads, THREADS);
  for (const m of [a, b, a]) {
    const got = await m.classify(images[1].pixels, { topK: 2 });
    assert.equal(got.predictions.length, 2);
  }
  a.dispose();
  b.dispose();
});
await check('a corrupt model is an error, not a crash', async () => {
  const bytes = fs.readFileSync(path.join(tmp, 'model-0.morsel'));
  bytes[bytes.length - 100] ^= 0xff;
  await assert.rejects(morsel.load(bytes.buffer, { wasmBase: wasmDir, threads: THREADS }), /INVALID_MODEL/);
});
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
