// Where a classification runs: on the server, in the browser, or both side by side.
import type { Mode, Side } from './types';

export const MODES: readonly Mode[] = ['server', 'browser', 'both'];

export const MODE_LABELS: Record<Mode, string> = {
  server: 'Server',
  browser: 'In browser',
  both: 'Both',
};

export function isMode(v: unknown): v is Mode {
  return typeof v === 'string' && (MODES as readonly string[]).includes(v);
}

/** The sides a mode runs, in the order they run (one after the other, so timings stay fair). */
export function sidesFor(mode: Mode): Side[] {
  switch (mode) {
    case 'server':
      return ['server'];
    case 'browser':
      return ['browser'];
    case 'both':
      return ['server', 'browser'];
  }
}

export function usesBrowser(mode: Mode): boolean {
  return mode !== 'server';
}

export function usesServer(mode: Mode): boolean {
  return mode !== 'browser';
}

/**
 * The mode to start in: `?mode=` in the URL wins, then the one last chosen, then the server when
 * it answers, else the browser (offline or no server).
 */
export function initialMode(opts: { query?: string | null; stored?: string | null; serverReachable: boolean | null }): Mode {
  if (isMode(opts.query)) return opts.query;
  if (isMode(opts.stored)) return opts.stored;
  return opts.serverReachable === false ? 'browser' : 'server';
}

/**
 * A side that cannot run right now and why, or null when it can. The browser side needs the
 * engine loaded; the server side needs the server to be reachable (unknown counts as reachable:
 * the request itself will tell).
 */
export function blockedReason(
  side: Side,
  state: { serverReachable: boolean | null; engineReady: boolean; engineError: string | null },
): string | null {
  if (side === 'server') {
    return state.serverReachable === false ? 'The server cannot be reached; the browser can still classify.' : null;
  }
  if (state.engineError) return state.engineError;
  return state.engineReady ? null : 'The model is still loading in the browser.';
}
