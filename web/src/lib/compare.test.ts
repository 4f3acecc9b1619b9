import { describe, expect, it } from 'vitest';
import { compareHits, topK } from './compare';

const p = (index: number, score: number) => ({ index, label: `c${index}`, score });

describe('compareHits', () => {
  it('matches classes by index, not by position', () => {
    const a = compareHits([p(2, 0.9), p(0, 0.06), p(1, 0.04)], [p(2, 0.9004), p(1, 0.0398), p(0, 0.0598)]);
    expect(a?.sameTop1).toBe(true);
    expect(a?.compared).toBe(3);
    expect(a?.maxAbsDiff).toBeCloseTo(0.0004, 6);
  });
  it('notices a different top-1', () => {
    expect(compareHits([p(2, 0.5), p(1, 0.49)], [p(1, 0.5), p(2, 0.49)])?.sameTop1).toBe(false);
  });
  it('is null when a side has nothing', () => {
    expect(compareHits([], [p(1, 1)])).toBeNull();
  });
});

describe('topK', () => {
  it('sorts best first, ties by index, and keeps k', () => {
    expect(topK([p(0, 0.1), p(1, 0.5), p(2, 0.5), p(3, 0.2)], 3).map((x) => x.index)).toEqual([1, 2, 3]);
    expect(topK([p(0, 0.1)], 0)).toEqual([]);
  });
});
