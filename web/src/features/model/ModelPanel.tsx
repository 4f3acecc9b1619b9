// The model: name, classes, size, quantization, input; and the in-browser engine's download
// progress and details.
import type { MorselModel } from '@morsel/wasm';
import { ErrorBox } from '../../components/ErrorBox';
import { formatBytes, formatMs, formatQuantization, progressFraction } from '../../lib/format';
import type { ServerModel } from '../../lib/server-api';
import type { EngineState } from './use-engine';

/** The model download / engine start-up as a labelled progress bar (nothing once it is done). */
export function EngineProgress(props: { state: EngineState }) {
  const { state } = props;
  if (state.phase !== 'downloading' && state.phase !== 'starting') return null;
  const frac = state.phase === 'starting' ? 1 : progressFraction(state.loaded, state.total);
  const text =
    state.phase === 'starting'
      ? 'Starting the engine…'
      : `Downloading the model: ${formatBytes(state.loaded)}${state.total ? ` of ${formatBytes(state.total)}` : ''}`;
  return (
    <div className="progress-wrap" data-testid="model-progress">
      <span className="small">{text}</span>
      <progress max={1} value={frac ?? undefined} aria-label={text} />
    </div>
  );
}

function EngineStatus(props: { state: EngineState; onRetry: () => void }) {
  const { state, onRetry } = props;
  switch (state.phase) {
    case 'idle':
      return <p className="muted small">The model downloads when you pick “In browser” or “Both”.</p>;
    case 'downloading':
    case 'starting':
      return <EngineProgress state={state} />;
    case 'error':
      return state.error ? <ErrorBox error={state.error} testId="engine-error" action={{ label: 'Retry', onClick: onRetry }} /> : null;
    case 'ready':
      return <EngineDetails model={state.model} state={state} />;
  }
}

function EngineDetails(props: { model: MorselModel | null; state: EngineState }) {
  const { model, state } = props;
  if (!model) return null;
  const i = model.info;
  return (
    <dl className="facts" data-testid="engine-ready">
      <div>
        <dt>In browser</dt>
        <dd>
          ready{state.fromCache ? ' (stored on this device)' : ''}
        </dd>
      </div>
      <div>
        <dt>Threads</dt>
        <dd>
          {i.threads} {i.multiThreaded ? '(multi-threaded)' : '(single thread)'}
        </dd>
      </div>
      <div>
        <dt>SIMD</dt>
        <dd>{i.simd ? 'yes' : 'no'}</dd>
      </div>
      <div>
        <dt>Load</dt>
        <dd>
          {formatMs(state.downloadMs)} download, {formatMs(state.initMs)} start-up
        </dd>
      </div>
    </dl>
  );
}

export function ModelPanel(props: {
  models: ServerModel[];
  current: ServerModel | null;
  onSelect: (name: string) => void;
  engine: EngineState;
  onRetryEngine: () => void;
}) {
  const { models, current, onSelect, engine, onRetryEngine } = props;
  return (
    <section className="card model" aria-labelledby="model-title" data-testid="model-panel">
      <h2 id="model-title">Model</h2>
      {models.length > 1 ? (
        <label className="select-label">
          <span>Model</span>
          <select value={current?.name ?? ''} onChange={(e) => onSelect(e.target.value)}>
            {models.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {current ? (
        <>
          <dl className="facts">
            <div>
              <dt>Name</dt>
              <dd data-testid="model-name">
                {current.name} <span className="muted">v{current.version}</span>
              </dd>
            </div>
            <div>
              <dt>Classes</dt>
              <dd>{current.num_classes}</dd>
            </div>
            <div>
              <dt>Size</dt>
              <dd data-testid="model-size">{formatBytes(current.size_bytes)}</dd>
            </div>
            <div>
              <dt>Quantization</dt>
              <dd>{formatQuantization(current.quantization)}</dd>
            </div>
            <div>
              <dt>Input</dt>
              <dd>
                {current.input.width}×{current.input.height}
                {current.preprocess?.resize ? `, ${current.preprocess.resize.replace(/_/g, ' ')}` : ''}
              </dd>
            </div>
          </dl>
          <details className="labels">
            <summary>Labels</summary>
            <p className="small">{current.labels.join(', ')}</p>
          </details>
          <EngineStatus state={engine} onRetry={onRetryEngine} />
        </>
      ) : (
        <p className="muted">No model yet: the server has not answered and none is stored on this device.</p>
      )}
    </section>
  );
}
