// Number formatting for the results: percentages, durations and sizes.

/** A probability in [0, 1] as a percentage with as many decimals as make it readable. */
export function formatPercent(score: number): string {
  if (!Number.isFinite(score)) return '–';
  const pct = Math.min(100, Math.max(0, score * 100));
  if (pct === 0) return '0%';
  if (pct === 100) return '100%';
  if (pct < 0.01) return '<0.01%';
  if (pct >= 99.995 && pct < 100) return '>99.99%';
  if (pct < 1 || pct > 99) return `${pct.toFixed(2)}%`;
  return `${pct.toFixed(1)}%`;
}

/** Milliseconds: two decimals under 1 ms, one under 100 ms, whole above, seconds past 10 s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const v = Math.max(0, ms);
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 100) return `${v.toFixed(1)} ms`;
  if (v < 10_000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(1)} s`;
}

/** Bytes in SI units (kB = 1000 B), one decimal from kB up. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = bytes;
  let unit = 'B';
  for (const u of units) {
    if (v < 1000) break;
    v /= 1000;
    unit = u;
  }
  return `${v.toFixed(1)} ${unit}`;
}

/** Download progress as a fraction in [0, 1], or null when the total is unknown. */
export function progressFraction(loaded: number, total: number | null | undefined): number | null {
  if (!total || total <= 0 || !Number.isFinite(total)) return null;
  return Math.min(1, Math.max(0, loaded / total));
}

/** Quantization names from the model file as people read them. */
export function formatQuantization(q: string | null | undefined): string {
  switch ((q ?? '').toLowerCase()) {
    case '':
    case 'none':
    case 'f32':
    case 'fp32':
      return 'none (float32)';
    case 'fp16':
    case 'f16':
      return 'float16 weights';
    case 'int8':
    case 'i8':
    case 'qs8':
      return 'int8';
    default:
      return q ?? '';
  }
}

/** A difference between two probabilities: plain above 0.001, else in scientific notation. */
export function formatDiff(d: number): string {
  if (!Number.isFinite(d)) return '–';
  const v = Math.abs(d);
  if (v === 0) return '0';
  if (v >= 1e-3) return v.toFixed(4);
  const [m, e] = v.toExponential(1).split('e');
  return `${m}×10${(e ?? '').replace('-', '⁻').replace(/\d/g, (c) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(c)] ?? c)}`;
}
