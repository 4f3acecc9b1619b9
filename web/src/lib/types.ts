// Shared result types: what one side (the server or the in-browser engine) answers for one image.

export type Side = 'server' | 'browser';
export type Mode = 'server' | 'browser' | 'both';

export interface Prediction {
  label: string;
  index: number;
  /** Probability in [0, 1]. */
  score: number;
}

/**
 * Where the time of one classification went, in milliseconds, as seen from the page.
 * `totalMs` is the wall time from the request to the answer; the parts need not add up to it
 * (`otherMs` in the timing table is the rest).
 */
export interface SideTimings {
  /** Upload + download + connection time (server only: wall time minus the server's own total). */
  networkMs: number | null;
  /** Time waiting for a free engine worker (server only). */
  queueMs: number | null;
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  totalMs: number;
}

export interface SideResult {
  side: Side;
  predictions: Prediction[];
  timings: SideTimings;
}
