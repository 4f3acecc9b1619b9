// Small typed wrappers over localStorage that never throw (private mode, quota, disabled storage).

export function readStored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeStored(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // not stored: only a preference or an offline fallback is lost
  }
}

export const KEYS = {
  mode: 'morsel.mode',
  models: 'morsel.models',
  model: 'morsel.model',
} as const;
