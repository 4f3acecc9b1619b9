// Loads the model list from the server; when the server cannot be reached, falls back to the
// list seen last time (so browser mode can start offline from the cached model).
import { useCallback, useEffect, useState } from 'react';
import { toAppError, type AppError } from '../../lib/errors';
import { fetchModels, parseModels, type ModelsResponse } from '../../lib/server-api';
import { KEYS, readStored, writeStored } from '../../lib/storage';

export interface ServerModelsState {
  models: ModelsResponse | null;
  /** null while the first check runs. */
  reachable: boolean | null;
  error: AppError | null;
  fromStorage: boolean;
  refresh: () => void;
}

function storedModels(): ModelsResponse | null {
  const stored = readStored(KEYS.models);
  if (!stored) return null;
  try {
    return parseModels(JSON.parse(stored));
  } catch {
    return null; // a broken stored list is ignored
  }
}

export function useServerModels(): ServerModelsState {
  // The list seen last time, until the server answers: an installed app starts its engine on the
  // stored model at once (the model URL names its version, so a newer one simply replaces it).
  const [models, setModels] = useState<ModelsResponse | null>(storedModels);
  const [reachable, setReachable] = useState<boolean | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [fromStorage, setFromStorage] = useState(() => models !== null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const ctl = new AbortController();
    fetchModels(fetch, ctl.signal)
      .then((m) => {
        performance.mark('morsel-models-listed');
        setModels(m);
        setReachable(true);
        setError(null);
        setFromStorage(false);
        writeStored(KEYS.models, JSON.stringify(m));
      })
      .catch((err: unknown) => {
        if (ctl.signal.aborted) return;
        setReachable(false);
        setError(toAppError(err, 'models-list', navigator.onLine));
        const stored = storedModels();
        if (stored) {
          setModels(stored);
          setFromStorage(true);
        }
      });
    return () => ctl.abort();
  }, [tick]);

  useEffect(() => {
    const again = () => setTick((t) => t + 1);
    window.addEventListener('online', again);
    window.addEventListener('offline', again);
    return () => {
      window.removeEventListener('online', again);
      window.removeEventListener('offline', again);
    };
  }, []);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { models, reachable, error, fromStorage, refresh };
}
