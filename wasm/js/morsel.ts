// morsel in the browser: loads a .morsel model into the WebAssembly engine (build/wasm/dist:
// morsel.js/.wasm, or morsel-mt.* with threads on cross-origin isolated pages) and classifies
// images. The page only hands over RGBA pixels; resizing and normalization run in the same C++
// as the server. Plain TypeScript, no dependencies; wasm/README.md describes the API.

export interface LoadOptions {
  /** Model download progress in bytes; total is 0 when the server sends no length. */
  onProgress?: (loaded: number, total: number) => void;
  /** Threads for inference. Default: half of navigator.hardwareConcurrency, at most 4, on a
   * cross-origin isolated page, else 1. More than 1 needs crossOriginIsolated (COOP/COEP
   * headers); otherwise 1 is used. The first multi-thread load fixes the count for later ones
   * (info.threads says what a model got). */
  threads?: number;
  /** URL directory holding morsel*.js/.wasm (default: the directory of this module). In node,
   * a file system directory. */
  wasmBase?: string;
}

export interface Prediction {
  label: string;
  index: number;
  score: number;
}

export interface Timings {
  preprocessMs: number;
  inferenceMs: number;
  totalMs: number;
}

export interface ModelInfo {
  name: string;
  labels: string[];
  numClasses: number;
  sizeBytes: number;
  inputHeight: number;
  inputWidth: number;
  quantization: string;
  threads: number;
  simd: boolean;
  multiThreaded: boolean;
}

export interface Classification {
  predictions: Prediction[];
  timings: Timings;
}

export type ImageSource =
  | ImageData
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas;

export interface MorselModel {
  info: ModelInfo;
  classify(src: ImageSource, opts?: { topK?: number }): Promise<Classification>;
  dispose(): void;
}

// ---- the emscripten module (wasm/morsel-wasm.cpp has the C side of each export) ----

type Ptr = number;

interface EngineModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPF32: Float32Array;
  HEAPF64: Float64Array;
  UTF8ToString(ptr: Ptr): string;
  _morsel_wasm_alloc(size: number): Ptr;
  _morsel_wasm_free(p: Ptr): void;
  _morsel_wasm_last_error(): Ptr;
  _morsel_wasm_load(data: Ptr, size: number, threads: number): Ptr;
  _morsel_wasm_destroy(engine: Ptr): void;
  _morsel_wasm_info(engine: Ptr): Ptr;
  _morsel_wasm_classify(engine: Ptr, rgba: Ptr, width: number, height: number, stride: number,
                        k: number, indexOut: Ptr, scoreOut: Ptr, timingsOut: Ptr): number;
}

interface ModuleArgs {
  locateFile?: (path: string, dir: string) => string;
  mainScriptUrlOrBlob?: string;
  poolSize?: number;
}

type EngineFactory = (args: ModuleArgs) => Promise<EngineModule>;

// Which build a page gets: the pthreads one needs SharedArrayBuffer, i.e. crossOriginIsolated.
interface Build {
  script: string; // morsel.js or morsel-mt.js
  globalName: string; // the factory's global (emscripten EXPORT_NAME)
  multiThreaded: boolean;
}
const SINGLE: Build = { script: 'morsel.js', globalName: 'MorselModule', multiThreaded: false };
const MULTI: Build = { script: 'morsel-mt.js', globalName: 'MorselModuleMT', multiThreaded: true };
const MAX_DEFAULT_THREADS = 4;

const g = globalThis as unknown as Record<string, unknown>;

function canUseThreads(): boolean {
  return g.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
}

function defaultBase(): string {
  try {
    return new URL('.', import.meta.url).href;
  } catch {
    return './';
  }
}

function withSlash(base: string): string {
  return base.endsWith('/') ? base : base + '/';
}

// Loads the emscripten glue once per URL: a classic <script> on pages, importScripts in
// workers. A factory already on globalThis (a page that included the script itself, or node
// with globalThis.MorselModule = require('.../morsel.js')) is used as it is.
const factories = new Map<string, Promise<EngineFactory>>();
function loadFactory(build: Build, base: string): Promise<EngineFactory> {
  const url = base + build.script;
  const existing = g[build.globalName];
  if (typeof existing === 'function') return Promise.resolve(existing as EngineFactory);
  let p = factories.get(url);
  if (!p) {
    p = new Promise<EngineFactory>((resolve, reject) => {
      const found = () => {
        const f = g[build.globalName];
        if (typeof f === 'function') resolve(f as EngineFactory);
        else reject(new Error(`morsel: ${url} did not define ${build.globalName}`));
      };
      if (typeof document !== 'undefined') {
        const s = document.createElement('script');
        s.src = url;
        s.async = true;
        s.onload = found;
        s.onerror = () => reject(new Error(`morsel: cannot load ${url}`));
        document.head.appendChild(s);
      } else if (typeof g.importScripts === 'function') {
        (g.importScripts as (u: string) => void)(url);
        found();
      } else {
        reject(new Error(`morsel: no way to load ${url} here; set globalThis.${build.globalName}`));
      }
    });
    p.catch(() => factories.delete(url));
    factories.set(url, p);
  }
  return p;
}

async function fetchModel(url: string, onProgress?: (loaded: number, total: number) => void):
    Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`morsel: cannot fetch ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.(bytes.length, total || bytes.length);
    return bytes;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  onProgress?.(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

// RGBA pixels of any source, at its natural size (the browser applies EXIF orientation when it
// decodes an <img> or an ImageBitmap).
interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

function isPixels(src: unknown): src is Pixels {
  const p = src as Pixels;
  return typeof p === 'object' && p !== null && typeof p.width === 'number' &&
    typeof p.height === 'number' && (p.data instanceof Uint8ClampedArray || p.data instanceof Uint8Array);
}

let scratch: { canvas: OffscreenCanvas | HTMLCanvasElement;
               ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D } | null = null;

function pixelsOf(src: ImageSource): Pixels {
  if (isPixels(src)) return src;
  let w: number, h: number;
  if (typeof HTMLImageElement !== 'undefined' && src instanceof HTMLImageElement) {
    w = src.naturalWidth;
    h = src.naturalHeight;
  } else if (typeof HTMLVideoElement !== 'undefined' && src instanceof HTMLVideoElement) {
    w = src.videoWidth;
    h = src.videoHeight;
  } else {
    w = (src as ImageBitmap).width;
    h = (src as ImageBitmap).height;
  }
  if (!w || !h) throw new Error('morsel: the image has no pixels yet (not loaded?)');
  if (!scratch) {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, h)
                                                          : document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true }) as
      OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
    if (!ctx) throw new Error('morsel: no 2D canvas context');
    scratch = { canvas, ctx };
  }
  const { canvas, ctx } = scratch;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  ctx.clearRect(0, 0, w, h);
  ctx.drawImage(src as CanvasImageSource, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h);
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

class Model implements MorselModel {
  info: ModelInfo;
  private mod: EngineModule;
  private engine: Ptr;
  private pixels: Ptr = 0; // RGBA input, pixelsSize bytes, reused while big enough
  private pixelsSize = 0;
  private out: Ptr = 0; // outK int32 indices, outK f32 scores, 2 f64 timings
  private outK = 0;

  constructor(mod: EngineModule, engine: Ptr, sizeBytes: number) {
    this.mod = mod;
    this.engine = engine;
    const raw = JSON.parse(mod.UTF8ToString(mod._morsel_wasm_info(engine))) as ModelInfo;
    this.info = {
      name: raw.name,
      labels: raw.labels,
      numClasses: raw.numClasses,
      sizeBytes,
      inputHeight: raw.inputHeight,
      inputWidth: raw.inputWidth,
      quantization: raw.quantization,
      threads: raw.threads,
      simd: raw.simd,
      multiThreaded: raw.multiThreaded,
    };
  }

  async classify(src: ImageSource, opts?: { topK?: number }): Promise<Classification> {
    if (!this.engine) throw new Error('morsel: the model was disposed');
    const t0 = now();
    const k = Math.max(1, Math.min(Math.floor(opts?.topK ?? 5), this.info.numClasses));
    const px = pixelsOf(src);
    const m = this.mod;
    const bytes = px.width * px.height * 4;
    if (px.data.length < bytes) throw new Error('morsel: pixel data is shorter than width*height*4');
    if (bytes > this.pixelsSize) {
      if (this.pixels) m._morsel_wasm_free(this.pixels);
      this.pixels = m._morsel_wasm_alloc(bytes);
      this.pixelsSize = this.pixels ? bytes : 0;
      if (!this.pixels) throw new Error('morsel: out of memory for the image');
    }
    if (k > this.outK) {
      if (this.out) m._morsel_wasm_free(this.out);
      this.out = m._morsel_wasm_alloc(k * 8 + 16);
      this.outK = k;
    }
    m.HEAPU8.set(px.data.subarray(0, bytes), this.pixels); // views are fresh after the allocs
    const idx = this.out, score = this.out + 4 * this.outK, times = this.out + 8 * this.outK;
    const n = m._morsel_wasm_classify(this.engine, this.pixels, px.width, px.height, px.width * 4, k,
                                      idx, score, times);
    if (n < 0) throw new Error('morsel: ' + m.UTF8ToString(m._morsel_wasm_last_error()));
    const indices = m.HEAP32.subarray(idx >> 2, (idx >> 2) + n);
    const scores = m.HEAPF32.subarray(score >> 2, (score >> 2) + n);
    const [preprocessMs = 0, inferenceMs = 0] = m.HEAPF64.subarray(times >> 3, (times >> 3) + 2);
    const predictions: Prediction[] = [];
    indices.forEach((index, i) => {
      predictions.push({ label: this.info.labels[index] ?? `class_${index}`, index, score: scores[i] ?? 0 });
    });
    const timings: Timings = { preprocessMs, inferenceMs, totalMs: now() - t0 };
    return { predictions, timings };
  }

  dispose(): void {
    if (!this.engine) return;
    const m = this.mod;
    m._morsel_wasm_destroy(this.engine);
    if (this.pixels) m._morsel_wasm_free(this.pixels);
    if (this.out) m._morsel_wasm_free(this.out);
    this.engine = this.pixels = this.out = 0;
    this.pixelsSize = this.outK = 0;
  }
}

// One engine instance per build and base URL. It holds any number of models, which take turns
// on one set of threads: the first load of the build fixes the thread count (its pthread workers
// start with the module), later loads use the same.
interface LoadedModule {
  mod: Promise<EngineModule>;
  poolSize: number;
}
const modules = new Map<string, LoadedModule>();

function engineModule(build: Build, base: string, threads: number): LoadedModule {
  const key = build.script + ' ' + base;
  let m = modules.get(key);
  if (!m) {
    const poolSize = build.multiThreaded ? threads - 1 : 0;
    const mod = loadFactory(build, base).then((factory) =>
      factory({ locateFile: (path: string) => base + path, mainScriptUrlOrBlob: base + build.script,
                poolSize }));
    mod.catch(() => modules.delete(key));
    m = { mod, poolSize };
    modules.set(key, m);
  }
  return m;
}

/** Loads a .morsel model from a URL or its bytes. */
export async function load(model: string | ArrayBuffer, opts: LoadOptions = {}): Promise<MorselModel> {
  const base = withSlash(opts.wasmBase ?? defaultBase());
  const hw = typeof navigator !== 'undefined' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
  // Default: half the logical cores (the browser's own threads need the rest), at most 4.
  const wanted = Math.max(1, Math.floor(opts.threads ?? Math.min(hw / 2, MAX_DEFAULT_THREADS)));
  const build = wanted > 1 && canUseThreads() ? MULTI : SINGLE;
  const loaded = engineModule(build, base, build.multiThreaded ? wanted : 1);
  const threads = Math.min(wanted, loaded.poolSize + 1);
  const [mod, bytes] = await Promise.all([
    loaded.mod,
    typeof model === 'string' ? fetchModel(model, opts.onProgress) : Promise.resolve(new Uint8Array(model)),
  ]);
  if (typeof model !== 'string') opts.onProgress?.(bytes.length, bytes.length);
  const data = mod._morsel_wasm_alloc(bytes.length);
  if (!data) throw new Error(`morsel: out of memory for a ${bytes.length}-byte model`);
  mod.HEAPU8.set(bytes, data);
  const engine = mod._morsel_wasm_load(data, bytes.length, threads); // owns `data` from here
  if (!engine) throw new Error('morsel: ' + mod.UTF8ToString(mod._morsel_wasm_last_error()));
  return new Model(mod, engine, bytes.length);
}
