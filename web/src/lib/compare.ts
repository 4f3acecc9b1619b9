// Compares the server's and the browser's answers for the same image: the engine and the
// preprocessing are the same C++ code on both sides, so they should agree closely.
import type { Prediction } from './types';

export interface Agreement {
  sameTop1: boolean;
  /** Largest |server - browser| over the labels both returned. */
  maxAbsDiff: number;
  /** Labels compared. */
  compared: number;
}

export function compareHits(a: Prediction[], b: Prediction[]): Agreement | null {
  if (a.length === 0 || b.length === 0) return null;
  const byIndex = new Map(b.map((p) => [p.index, p.score]));
  let maxAbsDiff = 0;
  let compared = 0;
  for (const p of a) {
    const other = byIndex.get(p.index);
    if (other === undefined) continue;
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p.score - other));
    compared++;
  }
  return { sameTop1: a[0]?.index === b[0]?.index, maxAbsDiff, compared };
}

/** Sorts best first and keeps k (ties keep the lower class index first). */
export function topK(predictions: Prediction[], k: number): Prediction[] {
  return [...predictions].sort((x, y) => y.score - x.score || x.index - y.index).slice(0, Math.max(0, k));
}
