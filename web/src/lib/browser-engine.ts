// The in-browser side: downloads the model (cached for offline use), starts the WebAssembly
// engine and classifies decoded pixels with it.
import { load, type ModelInfo, type MorselModel } from '@morsel/wasm';
import { forgetModel, readStoredModel, rememberModel, type Progress } from './model-cache';
import { splitBrowserTimings } from './timings';
import type { SideResult } from './types';

export type { ModelInfo };

export interface LoadedEngine {
  model: MorselModel;
  fromCache: boolean;
  /** From the start to the last model byte (the engine compiles meanwhile). */
  downloadMs: number;
  /** From the last model byte to the engine ready. */
  initMs: number;
}

/** Engine threads: the cores the browser reports, at most 4 (phones throttle past that). */
export function engineThreads(hardwareConcurrency: number | undefined, isolated: boolean): number {
  if (!isolated) return 1;
  const n = Math.floor(hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(4, n));
}

export function wasmBaseUrl(): string {
  return new URL('wasm/', document.baseURI).href;
}

/**
 * Starts the engine on a model: from the stored copy when there is one, else straight from the
 * network, so the engine compiles while the model downloads; a model loaded from the network is
 * then stored for offline use (only once the engine accepted it).
 */
export async function loadEngine(modelUrl: string, onProgress: Progress): Promise<LoadedEngine> {
  const url = new URL(modelUrl, document.baseURI).href;
  const t0 = performance.now();
  performance.mark('morsel-model-download-start');
  let downloadedAt: number | null = null;
  const downloaded = () => {
    if (downloadedAt !== null) return;
    downloadedAt = performance.now();
    performance.mark('morsel-model-downloaded');
  };
  const stored = await readStoredModel(url, onProgress);
  if (stored) downloaded();
  const opts = {
    wasmBase: wasmBaseUrl(),
    threads: engineThreads(navigator.hardwareConcurrency, globalThis.crossOriginIsolated === true),
  };
  let model: MorselModel;
  try {
    model = stored
      ? await load(stored, opts)
      : await load(url, {
          ...opts,
          onProgress: (loaded, total) => {
            onProgress(loaded, total > 0 ? total : null);
            if (total > 0 && loaded >= total) downloaded();
          },
        });
  } catch (err) {
    // A copy the engine rejects is not kept (the service worker may have stored the download).
    void forgetModel(url);
    throw err;
  }
  downloaded();
  // Where the service worker did not store the download, the page does, a moment later so that it
  // does not compete with the first prediction.
  if (!stored) setTimeout(() => void rememberModel(url), 500);
  // Ask the browser not to evict the stored model under storage pressure (it may say no).
  void navigator.storage?.persist?.().catch(() => false);
  const t1 = downloadedAt ?? performance.now();
  return { model, fromCache: !!stored, downloadMs: t1 - t0, initMs: performance.now() - t1 };
}

/** Decodes the image the way the browser shows it (EXIF orientation applied), then classifies. */
export async function classifyInBrowser(model: MorselModel, image: Blob, topK: number): Promise<SideResult> {
  const t0 = performance.now();
  const bitmap = await createImageBitmap(image, { imageOrientation: 'from-image' });
  const t1 = performance.now();
  try {
    const out = await model.classify(bitmap, { topK });
    const wall = performance.now() - t0;
    return { side: 'browser', predictions: out.predictions, timings: splitBrowserTimings(wall, t1 - t0, out.timings) };
  } finally {
    bitmap.close();
  }
}
