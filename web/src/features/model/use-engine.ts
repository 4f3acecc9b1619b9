// Loads the in-browser engine for one model when `enabled`: download (with progress, from the
// cache when stored), then WebAssembly start-up. Disposes it when the model changes.

import type { MorselModel } from '@morsel/wasm';
import { useCallback, useEffect, useState } from 'react';
import { loadEngine } from '../../lib/browser-engine';
import { toAppError, type AppError } from '../../lib/errors';

export type EnginePhase = 'idle' | 'downloading' | 'starting' | 'ready' | 'error';

export interface EngineState {
  phase: EnginePhase;
  loaded: number;
  total: number | null;
  model: MorselModel | null;
  fromCache: boolean;
  downloadMs: number | null;
  initMs: number | null;
  error: AppError | null;
}

const IDLE: EngineState = {
  phase: 'idle',
  loaded: 0,
  total: null,
  model: null,
  fromCache: false,
  downloadMs: null,
  initMs: null,
  error: null,
};

export function useEngine(modelUrl: string | null, sizeBytes: number | null, enabled: boolean) {
  const [state, setState] = useState<EngineState>(IDLE);
  const [attempt, setAttempt] = useState(0);
  // Once asked for, the engine stays loaded (switching to server mode and back is instant).
  const [wanted, setWanted] = useState(enabled);
  useEffect(() => {
    if (enabled) setWanted(true);
  }, [enabled]);
  const active = (enabled || wanted) && !!modelUrl;

  useEffect(() => {
    if (!active || !modelUrl) return;
    let cancelled = false;
    let loadedModel: MorselModel | null = null;
    setState({ ...IDLE, phase: 'downloading', total: sizeBytes });
    loadEngine(modelUrl, (loaded, total) => {
      if (cancelled) return;
      const complete = total !== null && loaded >= total;
      setState((s) => ({ ...s, loaded, total: total ?? sizeBytes, phase: complete ? 'starting' : s.phase }));
    })
      .then((r) => {
        if (cancelled) {
          r.model.dispose();
          return;
        }
        loadedModel = r.model;
        performance.mark('morsel-engine-ready');
        setState((s) => ({
          ...s,
          phase: 'ready',
          model: r.model,
          fromCache: r.fromCache,
          downloadMs: r.downloadMs,
          initMs: r.initMs,
          error: null,
        }));
      })
      .catch((err: unknown) => {
        if (cancelled) return;
        console.error('morsel: the in-browser engine did not load', err);
        setState((s) => ({ ...s, phase: 'error', error: toAppError(err, 'model', navigator.onLine) }));
      });
    return () => {
      cancelled = true;
      loadedModel?.dispose();
    };
  }, [active, modelUrl, sizeBytes, attempt]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  return { state: active ? state : IDLE, retry };
}
