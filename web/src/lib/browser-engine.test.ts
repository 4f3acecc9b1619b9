import type { MorselModel } from '@morsel/wasm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyInBrowser, engineThreads } from './browser-engine';

describe('engineThreads', () => {
  it('uses one thread without cross-origin isolation', () => {
    expect(engineThreads(8, false)).toBe(1);
  });
  it('uses the cores, at most 4', () => {
    expect(engineThreads(2, true)).toBe(2);
    expect(engineThreads(16, true)).toBe(4);
    expect(engineThreads(undefined, true)).toBe(1);
  });
});

describe('classifyInBrowser', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('decodes, classifies the bitmap, closes it and splits the timings', async () => {
    const close = vi.fn();
    const bitmap = { width: 4, height: 3, close };
    vi.stubGlobal('createImageBitmap', vi.fn(async () => bitmap));
    const classify = vi.fn(async () => ({
      predictions: [{ label: 'Neutral', index: 2, score: 0.9 }],
      timings: { preprocessMs: 1, inferenceMs: 7, totalMs: 8 },
    }));
    const model = { classify } as unknown as MorselModel;
    const r = await classifyInBrowser(model, new Blob(['x']), 3);
    expect(classify).toHaveBeenCalledWith(bitmap, { topK: 3 });
    expect(close).toHaveBeenCalledOnce();
    expect(r.side).toBe('browser');
    expect(r.timings.inferenceMs).toBe(7);
    expect(r.timings.preprocessMs).toBe(1);
    expect(r.timings.networkMs).toBeNull();
    expect(r.timings.totalMs).toBeGreaterThanOrEqual(8);
  });

  it('closes the bitmap when the engine fails', async () => {
    const close = vi.fn();
    vi.stubGlobal('createImageBitmap', vi.fn(async () => ({ close })));
    const model = { classify: vi.fn(async () => Promise.reject(new Error('engine failed'))) } as unknown as MorselModel;
    await expect(classifyInBrowser(model, new Blob(['x']), 5)).rejects.toThrow('engine failed');
    expect(close).toHaveBeenCalledOnce();
  });
});
