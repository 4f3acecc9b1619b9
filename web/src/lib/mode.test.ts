import { describe, expect, it } from 'vitest';
import { blockedReason, initialMode, isMode, sidesFor, usesBrowser, usesServer } from './mode';

describe('modes', () => {
  it('runs the server first when both run', () => {
    expect(sidesFor('server')).toEqual(['server']);
    expect(sidesFor('browser')).toEqual(['browser']);
    expect(sidesFor('both')).toEqual(['server', 'browser']);
  });
  it('knows which sides a mode needs', () => {
    expect(usesBrowser('server')).toBe(false);
    expect(usesBrowser('both')).toBe(true);
    expect(usesServer('browser')).toBe(false);
    expect(usesServer('both')).toBe(true);
  });
  it('accepts only the three mode names', () => {
    expect(isMode('both')).toBe(true);
    expect(isMode('Both')).toBe(false);
    expect(isMode(null)).toBe(false);
  });
});

describe('initialMode', () => {
  it('prefers the URL, then the stored choice', () => {
    expect(initialMode({ query: 'both', stored: 'browser', serverReachable: true })).toBe('both');
    expect(initialMode({ query: 'nonsense', stored: 'browser', serverReachable: true })).toBe('browser');
  });
  it('falls back to the server when it answers and to the browser when it does not', () => {
    expect(initialMode({ serverReachable: true })).toBe('server');
    expect(initialMode({ serverReachable: null })).toBe('server');
    expect(initialMode({ serverReachable: false })).toBe('browser');
  });
});

describe('blockedReason', () => {
  const base = { serverReachable: true, engineReady: true, engineError: null };
  it('blocks the server side only when it is known to be unreachable', () => {
    expect(blockedReason('server', base)).toBeNull();
    expect(blockedReason('server', { ...base, serverReachable: null })).toBeNull();
    expect(blockedReason('server', { ...base, serverReachable: false })).toMatch(/cannot be reached/);
  });
  it('blocks the browser side until the engine is ready, and on an engine error', () => {
    expect(blockedReason('browser', base)).toBeNull();
    expect(blockedReason('browser', { ...base, engineReady: false })).toMatch(/loading/);
    expect(blockedReason('browser', { ...base, engineError: 'no wasm' })).toBe('no wasm');
  });
});
