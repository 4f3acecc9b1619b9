// Turns each side's raw timings into one split (network, queue, decode, preprocess, inference)
// and the rows of the comparison table.
import type { Side, SideResult, SideTimings } from './types';

/** The server's `timings_ms` from POST /api/classify. */
export interface ServerTimingsMs {
  queue?: number;
  decode?: number;
  preprocess?: number;
  inference?: number;
  total?: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/**
 * Server side: `wallMs` is the page's time from sending the request to the parsed answer. The
 * server's own `total` runs from the request fully received to the response ready, so the rest of
 * the wall time is upload, download and connection set-up.
 */
export function splitServerTimings(wallMs: number, t: ServerTimingsMs): SideTimings {
  const serverTotal = num(t.total);
  return {
    networkMs: Math.max(0, num(wallMs) - serverTotal),
    queueMs: num(t.queue),
    decodeMs: num(t.decode),
    preprocessMs: num(t.preprocess),
    inferenceMs: num(t.inference),
    totalMs: Math.max(num(wallMs), serverTotal),
  };
}

/**
 * Browser side: `decodeMs` is the page's image decode (createImageBitmap); the engine reports
 * preprocess and inference; `wallMs` covers decode through the engine's answer.
 */
export function splitBrowserTimings(
  wallMs: number,
  decodeMs: number,
  engine: { preprocessMs: number; inferenceMs: number; totalMs: number },
): SideTimings {
  const decode = num(decodeMs);
  const engineTotal = Math.max(num(engine.totalMs), num(engine.preprocessMs) + num(engine.inferenceMs));
  return {
    networkMs: null,
    queueMs: null,
    decodeMs: decode,
    preprocessMs: num(engine.preprocessMs),
    inferenceMs: num(engine.inferenceMs),
    totalMs: Math.max(num(wallMs), decode + engineTotal),
  };
}

export type TimingRowKey = 'network' | 'decodePreprocess' | 'inference' | 'other' | 'total';

export interface TimingRow {
  key: TimingRowKey;
  label: string;
  /** Per side; null where the part does not apply (no network in the browser). */
  values: Partial<Record<Side, number | null>>;
}

/** The parts of one side's time that the table shows; they add up to `total`. */
export function timingParts(t: SideTimings): Record<TimingRowKey, number | null> {
  const decodePreprocess = t.decodeMs + t.preprocessMs;
  const accounted = (t.networkMs ?? 0) + decodePreprocess + t.inferenceMs;
  return {
    network: t.networkMs,
    decodePreprocess,
    inference: t.inferenceMs,
    other: Math.max(0, t.totalMs - accounted),
    total: t.totalMs,
  };
}

const ROW_LABELS: Record<TimingRowKey, string> = {
  network: 'Upload / network',
  decodePreprocess: 'Decode + preprocess',
  inference: 'Inference',
  other: 'Other (queue, JS, transfer)',
  total: 'Total',
};

/** Rows of the comparison table for the sides that answered, in a fixed order. */
export function timingRows(results: SideResult[]): TimingRow[] {
  const parts = results.map((r) => [r.side, timingParts(r.timings)] as const);
  return (Object.keys(ROW_LABELS) as TimingRowKey[]).map((key) => {
    const values: Partial<Record<Side, number | null>> = {};
    for (const [side, p] of parts) values[side] = p[key];
    return { key, label: ROW_LABELS[key], values };
  });
}

/** The side with the smaller total, or null with fewer than two sides or a tie. */
export function fasterSide(results: SideResult[]): Side | null {
  if (results.length < 2) return null;
  const sorted = [...results].sort((a, b) => a.timings.totalMs - b.timings.totalMs);
  const [first, second] = sorted;
  if (!first || !second || first.timings.totalMs === second.timings.totalMs) return null;
  return first.side;
}
