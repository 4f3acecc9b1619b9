// The benchmark page's engine side: morsel (wasm/js/morsel.ts), TF.js with its wasm backend and
// onnxruntime-web's wasm EP (both from their own browser bundles, loaded by bench.html as
// globals). bench/compare/browser-bench.js calls window.bench.init() once per page (each engine
// fixes its thread count when it starts) and then run() in alternating rounds.
import { load, type MorselModel } from '../../../wasm/js/morsel';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const tf: any;
declare const ort: any;

export interface BenchConfig {
  threads: number;
  size: number; // input height = width
  morselOnnx: string; // .morsel converted from the ONNX file
  morselTfjs: string; // .morsel converted from the TF.js model
  onnx: string;
  tfjs: string; // model.json
}

export interface EngineInfo {
  name: string;
  model: string;
  detail: string;
}

type Runner = () => Promise<number | void>; // optional: inference-only ms reported by the engine

const runners = new Map<string, Runner>();
const infos: EngineInfo[] = [];

// Deterministic pixels: the same 224x224 image for every engine.
function pixels(size: number): Uint8ClampedArray {
  const px = new Uint8ClampedArray(size * size * 4);
  let s = 12345;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    px[i] = (i & 3) === 3 ? 255 : s >>> 24;
  }
  return px;
}

async function initMorsel(c: BenchConfig, img: ImageData) {
  const add = async (key: string, url: string, modelName: string) => {
    const m: MorselModel = await load(url, { threads: c.threads, wasmBase: '/morsel/' });
    for (let i = 0; i < 3; i++) await m.classify(img);
    runners.set(key, async () => (await m.classify(img, { topK: 5 })).timings.inferenceMs);
    infos.push({ name: key, model: modelName,
                 detail: `${m.info.multiThreaded ? 'morsel-mt' : 'morsel'}.wasm, ${m.info.threads} thread(s), simd ${m.info.simd}` });
  };
  await add('morsel (ONNX model)', c.morselOnnx, 'onnx');
  await add('morsel (TF.js model)', c.morselTfjs, 'tfjs');
}

async function initTfjs(c: BenchConfig, img: ImageData) {
  tf.wasm.setWasmPaths('/vendor/tfjs/');
  tf.wasm.setThreadsCount(c.threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js: the wasm backend did not start');
  await tf.ready();
  const model = await tf.loadLayersModel(c.tfjs);
  const x = tf.tidy(() => tf.browser.fromPixels(img).toFloat().div(255).expandDims(0));
  const run = async () => {
    const y = model.predict(x);
    await y.data();
    y.dispose();
  };
  for (let i = 0; i < 3; i++) await run();
  runners.set('TF.js wasm', run);
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const binary = performance.getEntriesByType('resource').map((e) => e.name.split('/').pop())
    .filter((n) => n && n.startsWith('tfjs-backend-wasm')).join(', ');
  infos.push({ name: 'TF.js wasm', model: 'tfjs',
               detail: `@tensorflow/tfjs-backend-wasm ${tf.wasm.version_wasm} (${binary}), setThreadsCount(${c.threads}), ` +
                       `getThreadsCount() = ${tf.wasm.getThreadsCount()}, simd ${simd}, multithread support ${mt}` });
}

async function initOrt(c: BenchConfig, img: ImageData) {
  ort.env.wasm.wasmPaths = '/vendor/ort/';
  ort.env.wasm.numThreads = c.threads;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(c.onnx, {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const n = c.size * c.size;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++) data[ch * n + i] = img.data[i * 4 + ch] / 255;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, c.size, c.size]) };
  const run = async () => {
    await session.run(feeds);
  };
  for (let i = 0; i < 3; i++) await run();
  runners.set('onnxruntime-web', run);
  infos.push({ name: 'onnxruntime-web', model: 'onnx',
               detail: `onnxruntime-web ${ort.env.versions?.web ?? ''} wasm EP, numThreads ${ort.env.wasm.numThreads}` });
}

const now = () => performance.now();

(window as any).bench = {
  async init(c: BenchConfig) {
    const img = new ImageData(pixels(c.size), c.size, c.size);
    console.log('bench: starting morsel');
    await initMorsel(c, img);
    console.log('bench: starting TF.js');
    await initTfjs(c, img);
    console.log('bench: starting onnxruntime-web');
    await initOrt(c, img);
    return { engines: infos, crossOriginIsolated: (window as any).crossOriginIsolated,
             hardwareConcurrency: navigator.hardwareConcurrency, userAgent: navigator.userAgent };
  },
  // `n` timed calls of one engine: wall ms per call (and the engine's own inference ms if any).
  async run(name: string, n: number) {
    const r = runners.get(name);
    if (!r) throw new Error('no engine ' + name);
    const wall: number[] = [], inner: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = now();
      const own = await r();
      wall.push(now() - t0);
      if (typeof own === 'number') inner.push(own);
    }
    return { wall, inner };
  },
};
(window as any).benchReady = true;
