import { describe, expect, it } from 'vitest';
import { fasterSide, splitBrowserTimings, splitServerTimings, timingParts, timingRows } from './timings';
import type { SideResult } from './types';

describe('splitServerTimings', () => {
  it('charges the wall time the server did not account for to the network', () => {
    const t = splitServerTimings(30, { queue: 0.5, decode: 2, preprocess: 1, inference: 20, total: 24 });
    expect(t.networkMs).toBeCloseTo(6);
    expect(t.decodeMs).toBe(2);
    expect(t.preprocessMs).toBe(1);
    expect(t.inferenceMs).toBe(20);
    expect(t.queueMs).toBe(0.5);
    expect(t.totalMs).toBe(30);
  });
  it('never reports negative network time when clocks disagree', () => {
    const t = splitServerTimings(10, { total: 12, inference: 11 });
    expect(t.networkMs).toBe(0);
    expect(t.totalMs).toBe(12);
  });
  it('treats missing or junk fields as zero', () => {
    const t = splitServerTimings(5, { decode: Number.NaN, inference: -1 } as never);
    expect(t.decodeMs).toBe(0);
    expect(t.inferenceMs).toBe(0);
    expect(t.networkMs).toBe(5);
  });
});

describe('splitBrowserTimings', () => {
  it('has no network part and keeps decode apart from the engine', () => {
    const t = splitBrowserTimings(40, 3, { preprocessMs: 2, inferenceMs: 30, totalMs: 33 });
    expect(t.networkMs).toBeNull();
    expect(t.decodeMs).toBe(3);
    expect(t.preprocessMs).toBe(2);
    expect(t.inferenceMs).toBe(30);
    expect(t.totalMs).toBe(40);
  });
  it('total is at least decode + engine total', () => {
    expect(splitBrowserTimings(10, 3, { preprocessMs: 2, inferenceMs: 30, totalMs: 33 }).totalMs).toBe(36);
  });
});

describe('timing table', () => {
  const server: SideResult = {
    side: 'server',
    predictions: [],
    timings: splitServerTimings(30, { queue: 0.5, decode: 2, preprocess: 1, inference: 20, total: 24 }),
  };
  const browser: SideResult = {
    side: 'browser',
    predictions: [],
    timings: splitBrowserTimings(40, 3, { preprocessMs: 2, inferenceMs: 30, totalMs: 33 }),
  };

  it('splits each side into parts that add up to its total', () => {
    for (const r of [server, browser]) {
      const p = timingParts(r.timings);
      expect((p.network ?? 0) + (p.decodePreprocess ?? 0) + (p.inference ?? 0) + (p.other ?? 0)).toBeCloseTo(r.timings.totalMs);
    }
    expect(timingParts(server.timings).decodePreprocess).toBe(3);
    expect(timingParts(browser.timings).decodePreprocess).toBe(5);
    expect(timingParts(server.timings).other).toBeCloseTo(1); // queue + the server's own overhead
  });

  it('has one row per part with a value per side', () => {
    const rows = timingRows([server, browser]);
    expect(rows.map((r) => r.key)).toEqual(['network', 'decodePreprocess', 'inference', 'other', 'total']);
    const network = rows.find((r) => r.key === 'network')!;
    expect(network.values.server).toBeCloseTo(6);
    expect(network.values.browser).toBeNull();
    expect(rows.find((r) => r.key === 'total')!.values).toEqual({ server: 30, browser: 40 });
  });

  it('names the faster side only when there are two and they differ', () => {
    expect(fasterSide([server, browser])).toBe('server');
    expect(fasterSide([server])).toBeNull();
    expect(fasterSide([server, { ...browser, timings: { ...browser.timings, totalMs: 30 } }])).toBeNull();
  });
});
