import { describe, expect, it } from 'vitest';
import { formatBytes, formatDiff, formatMs, formatPercent, formatQuantization, progressFraction } from './format';

describe('formatPercent', () => {
  it('uses one decimal in the middle and two near the ends', () => {
    expect(formatPercent(0.5)).toBe('50.0%');
    expect(formatPercent(0.123)).toBe('12.3%');
    expect(formatPercent(0.0042)).toBe('0.42%');
    expect(formatPercent(0.9973)).toBe('99.73%');
  });
  it('never rounds a tiny or near-certain score to 0% or 100%', () => {
    expect(formatPercent(0.00001)).toBe('<0.01%');
    expect(formatPercent(0.99999)).toBe('>99.99%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0)).toBe('0%');
  });
  it('clamps out-of-range scores and rejects NaN', () => {
    expect(formatPercent(1.5)).toBe('100%');
    expect(formatPercent(-0.1)).toBe('0%');
    expect(formatPercent(Number.NaN)).toBe('–');
  });
});

describe('formatMs', () => {
  it('scales the precision with the value', () => {
    expect(formatMs(0.256)).toBe('0.26 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(123.4)).toBe('123 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
  });
  it('shows a dash for missing values and clamps negatives', () => {
    expect(formatMs(null)).toBe('–');
    expect(formatMs(undefined)).toBe('–');
    expect(formatMs(-3)).toBe('0.00 ms');
  });
});

describe('formatBytes', () => {
  it('uses SI units', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(10_309_704)).toBe('10.3 MB');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(2_500_000_000)).toBe('2.5 GB');
    expect(formatBytes(-1)).toBe('–');
  });
});

describe('progressFraction', () => {
  it('is null without a total and clamped to [0, 1]', () => {
    expect(progressFraction(5, null)).toBeNull();
    expect(progressFraction(5, 0)).toBeNull();
    expect(progressFraction(5, 10)).toBe(0.5);
    expect(progressFraction(15, 10)).toBe(1);
  });
});

describe('formatQuantization', () => {
  it('names the model file quantizations', () => {
    expect(formatQuantization('none')).toBe('none (float32)');
    expect(formatQuantization('fp16')).toBe('float16 weights');
    expect(formatQuantization('int8')).toBe('int8');
    expect(formatQuantization('custom')).toBe('custom');
  });
});

describe('formatDiff', () => {
  it('writes small differences in scientific notation', () => {
    expect(formatDiff(0)).toBe('0');
    expect(formatDiff(0.0123)).toBe('0.0123');
    expect(formatDiff(3.24e-6)).toBe('3.2×10⁻⁶');
    expect(formatDiff(-2e-4)).toBe('2.0×10⁻⁴');
    expect(formatDiff(Number.NaN)).toBe('–');
  });
});
