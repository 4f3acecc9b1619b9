// The page: choose an image and where it runs, see the top-5 per side, how they agree and where
// the time went. The server and the in-browser engine sit behind one Classifier interface.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ErrorBox } from './components/ErrorBox';
import { Camera } from './features/camera/Camera';
import { ModeSwitch } from './features/mode/ModeSwitch';
import { EngineProgress, ModelPanel } from './features/model/ModelPanel';
import { useEngine } from './features/model/use-engine';
import { useServerModels } from './features/model/use-server-models';
import { ImagePicker, chosen, type ChosenImage } from './features/picker/ImagePicker';
import { Agreement, SideCard, TimingTable, type SideRun } from './features/results/Results';
import { browserClassifier, serverClassifier, type Classifier } from './lib/classifier';
import { toAppError } from './lib/errors';
import { blockedReason, initialMode, isMode, sidesFor, usesBrowser } from './lib/mode';
import { KEYS, readStored, writeStored } from './lib/storage';
import type { Mode, Side, SideResult } from './lib/types';

const TOP_K = 5;

interface KeyedRun {
  key: string;
  run: SideRun;
}

interface InstallPrompt extends Event {
  prompt: () => Promise<void>;
}

function useOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  return online;
}

function useInstallPrompt(): (() => void) | null {
  const [prompt, setPrompt] = useState<InstallPrompt | null>(null);
  useEffect(() => {
    const onPrompt = (e: Event) => {
      e.preventDefault();
      setPrompt(e as InstallPrompt);
    };
    const onInstalled = () => setPrompt(null);
    window.addEventListener('beforeinstallprompt', onPrompt);
    window.addEventListener('appinstalled', onInstalled);
    return () => {
      window.removeEventListener('beforeinstallprompt', onPrompt);
      window.removeEventListener('appinstalled', onInstalled);
    };
  }, []);
  if (!prompt) return null;
  return () => {
    void prompt.prompt().finally(() => setPrompt(null));
  };
}

export function App() {
  const params = useMemo(() => new URLSearchParams(window.location.search), []);
  const server = useServerModels();
  const online = useOnline();
  const install = useInstallPrompt();

  const explicitMode = useRef(isMode(params.get('mode')) || isMode(readStored(KEYS.mode)));
  const [mode, setModeState] = useState<Mode>(() =>
    initialMode({ query: params.get('mode'), stored: readStored(KEYS.mode), serverReachable: null }),
  );
  const setMode = useCallback((m: Mode) => {
    explicitMode.current = true;
    writeStored(KEYS.mode, m);
    setModeState(m);
  }, []);
  useEffect(() => {
    // No mode chosen yet and no server: start where it works.
    if (server.reachable === false && !explicitMode.current) setModeState('browser');
  }, [server.reachable]);

  const [modelName, setModelName] = useState<string | null>(() => readStored(KEYS.model));
  const models = server.models?.models ?? [];
  const current = models.find((m) => m.name === modelName) ?? models.find((m) => m.name === server.models?.default_model) ?? models[0] ?? null;
  const selectModel = useCallback((name: string) => {
    writeStored(KEYS.model, name);
    setModelName(name);
  }, []);

  const engine = useEngine(current?.url ?? null, current?.size_bytes ?? null, usesBrowser(mode));

  const [image, setImage] = useState<ChosenImage | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [previewBroken, setPreviewBroken] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [showCamera, setShowCamera] = useState(false);
  useEffect(() => {
    if (!image) return;
    const url = URL.createObjectURL(image.blob);
    setPreview(url);
    setPreviewBroken(false);
    return () => URL.revokeObjectURL(url);
  }, [image]);

  const previewRef = useRef<HTMLElement>(null);
  const onImage = useCallback((img: ChosenImage) => {
    setNotice(null);
    setImage(img);
    // On a phone the answer is below the picker: bring the photo and its answer into view.
    if (window.matchMedia('(max-width: 899px)').matches) {
      requestAnimationFrame(() => previewRef.current?.scrollIntoView({ behavior: 'smooth', block: 'start' }));
    }
  }, []);

  // Runs: one per side for the current (image, model); they run one after the other so each
  // side's timings are its own.
  const [runs, setRuns] = useState<Partial<Record<Side, KeyedRun>>>({});
  const started = useRef(new Map<Side, string>());
  const chain = useRef<Promise<void>>(Promise.resolve());
  const firstBrowser = useRef(false);
  const [retryTick, setRetryTick] = useState(0);

  const keyFor = useCallback(
    (side: Side) => (image ? `${image.id}|${side}|${current?.name ?? ''}` : ''),
    [image, current?.name],
  );

  useEffect(() => {
    if (!image) return;
    const classifiers: Partial<Record<Side, Classifier>> = {};
    for (const side of sidesFor(mode)) {
      const key = keyFor(side);
      if (started.current.get(side) === key) continue;
      if (side === 'browser') {
        if (engine.state.phase === 'error' && engine.state.error) {
          setRuns((r) => ({ ...r, browser: { key, run: { status: 'error', error: engine.state.error! } } }));
          continue;
        }
        const blocked = blockedReason('browser', {
          serverReachable: server.reachable,
          engineReady: engine.state.phase === 'ready' && !!engine.state.model,
          engineError: null,
        });
        if (blocked || !engine.state.model) {
          setRuns((r) => ({ ...r, browser: { key, run: { status: 'waiting', reason: blocked ?? '' } } }));
          continue;
        }
        classifiers.browser = browserClassifier(engine.state.model);
      } else {
        classifiers.server = serverClassifier(current?.name ?? null);
      }
      started.current.set(side, key);
      setRuns((r) => ({ ...r, [side]: { key, run: { status: 'waiting', reason: 'Queued…' } } }));
    }
    for (const side of ['server', 'browser'] as const) {
      const classifier = classifiers[side];
      if (!classifier) continue;
      const key = keyFor(side);
      const blob = image.blob;
      chain.current = chain.current.then(async () => {
        if (started.current.get(side) !== key) return;
        setRuns((r) => ({ ...r, [side]: { key, run: { status: 'running' } } }));
        let run: SideRun;
        try {
          run = { status: 'done', result: await classifier.classify(blob, TOP_K) };
          if (side === 'browser' && !firstBrowser.current) {
            firstBrowser.current = true;
            performance.mark('morsel-first-browser-prediction');
          }
        } catch (err) {
          console.error(`morsel: ${side} classification failed`, err);
          run = { status: 'error', error: toAppError(err, side, navigator.onLine) };
          if (side === 'server') server.refresh();
        }
        setRuns((r) => (r[side]?.key === key ? { ...r, [side]: { key, run } } : r));
      });
    }
    // The inputs that start new runs (server.refresh is stable).
  }, [image, mode, engine.state.phase, engine.state.model, current?.name, retryTick, keyFor]);

  const retry = useCallback((side: Side) => {
    started.current.delete(side);
    if (side === 'browser' && engine.state.phase === 'error') engine.retry();
    setRetryTick((t) => t + 1);
  }, [engine]);

  const sides = sidesFor(mode);
  const shownRuns = sides.map((side) => {
    const r = runs[side];
    return [side, r && r.key === keyFor(side) ? r.run : undefined] as const;
  });
  const done: SideResult[] = shownRuns.flatMap(([, run]) => (run?.status === 'done' ? [run.result] : []));
  const serverDone = done.find((r) => r.side === 'server');
  const browserDone = done.find((r) => r.side === 'browser');

  const autoSample = params.has('sample') ? Number(params.get('sample')) || 0 : null;

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <img src="icons/icon.svg" alt="" width={36} height={36} />
          <div>
            <h1>morsel</h1>
            <p className="tagline">One engine, one model file — on the server and in your browser.</p>
          </div>
        </div>
        <div className="status" aria-live="polite">
          {!online ? (
            <span className="pill pill-warn" data-testid="offline">Offline</span>
          ) : null}
          <span
            className={server.reachable === false ? 'pill pill-warn' : server.reachable ? 'pill pill-ok' : 'pill'}
            data-testid="server-status"
            data-reachable={String(server.reachable)}
          >
            {server.reachable === null ? 'Server: checking…' : server.reachable ? 'Server: online' : 'Server: unreachable'}
          </span>
          {install ? (
            <button type="button" className="btn btn-small" onClick={install}>
              Install app
            </button>
          ) : null}
        </div>
      </header>

      <main className="layout">
        <div className="column">
          <ModeSwitch mode={mode} onChange={setMode} serverReachable={server.reachable} />
          {server.reachable === false && server.error && mode !== 'browser' ? (
            <ErrorBox
              error={server.error}
              testId="server-error"
              action={{ label: 'Use the browser', onClick: () => setMode('browser') }}
            />
          ) : null}
          {showCamera ? (
            <Camera
              onClose={() => setShowCamera(false)}
              onCapture={(blob) => {
                setShowCamera(false);
                onImage(chosen(blob, 'camera photo'));
              }}
            />
          ) : (
            <ImagePicker onImage={onImage} onCamera={() => setShowCamera(true)} onError={setNotice} autoSample={autoSample} />
          )}
          {notice ? <p className="notice" role="status">{notice}</p> : null}
          {image && preview ? (
            <figure className="card preview" ref={previewRef}>
              {previewBroken ? (
                <p className="muted">This browser cannot show this image.</p>
              ) : (
                <img src={preview} alt={`Chosen image: ${image.name}`} onError={() => setPreviewBroken(true)} data-testid="preview" />
              )}
              <figcaption className="small muted">{image.name}</figcaption>
            </figure>
          ) : null}
        </div>

        <div className="column">
          <div className={sides.length > 1 ? 'sides two' : 'sides'}>
            {shownRuns.map(([side, run]) => (
              <SideCard
                key={side}
                side={side}
                run={run}
                onRetry={() => retry(side)}
                waitingExtra={side === 'browser' ? <EngineProgress state={engine.state} /> : undefined}
              />
            ))}
          </div>
          {serverDone && browserDone ? <Agreement server={serverDone} browser={browserDone} /> : null}
          <TimingTable results={done} />
          <ModelPanel models={models} current={current} onSelect={selectModel} engine={engine.state} onRetryEngine={engine.retry} />
        </div>
      </main>
      <footer className="foot small muted">
        {globalThis.crossOriginIsolated ? 'Cross-origin isolated: the engine can use threads.' : 'Not cross-origin isolated: the engine runs on one thread.'}
      </footer>
    </div>
  );
}
