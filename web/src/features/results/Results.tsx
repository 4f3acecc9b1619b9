// The answers: per side the top-5 as labelled bars, whether the sides agree, and where the time
// went (the comparison table).
import type { ReactNode } from 'react';
import { ErrorBox } from '../../components/ErrorBox';
import { compareHits } from '../../lib/compare';
import type { AppError } from '../../lib/errors';
import { formatDiff, formatMs, formatPercent } from '../../lib/format';
import { fasterSide, timingRows } from '../../lib/timings';
import type { Side, SideResult } from '../../lib/types';

export type SideRun =
  | { status: 'waiting'; reason: string }
  | { status: 'running' }
  | { status: 'done'; result: SideResult }
  | { status: 'error'; error: AppError };

export const SIDE_TITLES: Record<Side, string> = { server: 'Server', browser: 'In browser' };

function Bars(props: { result: SideResult }) {
  const { result } = props;
  return (
    <ol className="bars" aria-label={`${SIDE_TITLES[result.side]} top ${result.predictions.length}`}>
      {result.predictions.map((p, i) => (
        <li
          key={p.index}
          className={i === 0 ? 'bar top' : 'bar'}
          data-testid={`pred-${result.side}-${i}`}
          data-label={p.label}
          data-index={p.index}
          data-score={p.score}
        >
          <div className="bar-text">
            <span className="bar-label">{p.label}</span>
            <span className="bar-value">{formatPercent(p.score)}</span>
          </div>
          <div
            className="bar-track"
            role="meter"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(p.score * 1000) / 10}
            aria-label={`${p.label}: ${formatPercent(p.score)}`}
          >
            <div className="bar-fill" style={{ width: `${Math.max(0.5, p.score * 100)}%` }} />
          </div>
        </li>
      ))}
    </ol>
  );
}

export function SideCard(props: { side: Side; run: SideRun | undefined; onRetry?: () => void; waitingExtra?: ReactNode }) {
  const { side, run, onRetry, waitingExtra } = props;
  return (
    <section className="card side" aria-labelledby={`side-${side}`} data-testid={`side-${side}`} data-status={run?.status ?? 'idle'}>
      <header className="side-head">
        <h2 id={`side-${side}`}>{SIDE_TITLES[side]}</h2>
        {run?.status === 'done' ? <span className="chip">{formatMs(run.result.timings.totalMs)}</span> : null}
      </header>
      {!run ? (
        <>
          <p className="muted">Choose an image to classify it.</p>
          {waitingExtra}
        </>
      ) : null}
      {run?.status === 'waiting' ? (
        <>
          <p className="muted">{run.reason}</p>
          {waitingExtra}
        </>
      ) : null}
      {run?.status === 'running' ? (
        <p className="muted" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Classifying…
        </p>
      ) : null}
      {run?.status === 'error' ? (
        <ErrorBox error={run.error} testId={`error-${side}`} action={onRetry ? { label: 'Retry', onClick: onRetry } : undefined} />
      ) : null}
      {run?.status === 'done' ? <Bars result={run.result} /> : null}
    </section>
  );
}

export function Agreement(props: { server: SideResult; browser: SideResult }) {
  const a = compareHits(props.server.predictions, props.browser.predictions);
  if (!a) return null;
  const close = a.sameTop1 && a.maxAbsDiff < 1e-3;
  return (
    <p className={close ? 'agreement ok' : 'agreement warn'} data-testid="agreement" data-max-diff={a.maxAbsDiff}>
      {a.sameTop1 ? 'Same top-1' : 'Different top-1'} on both sides · largest probability difference{' '}
      {formatDiff(a.maxAbsDiff)} over {a.compared} classes
    </p>
  );
}

export function TimingTable(props: { results: SideResult[] }) {
  const { results } = props;
  if (results.length === 0) return null;
  const rows = timingRows(results);
  const faster = fasterSide(results);
  return (
    <section className="card timings" aria-labelledby="timings-title">
      <h2 id="timings-title">Where the time went</h2>
      <div className="table-scroll">
        <table data-testid="timing-table">
          <thead>
            <tr>
              <th scope="col">Step</th>
              {results.map((r) => (
                <th scope="col" key={r.side}>
                  {SIDE_TITLES[r.side]}
                  {faster === r.side ? <span className="chip chip-fast">faster</span> : null}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key} className={row.key === 'total' ? 'total' : undefined} data-row={row.key}>
                <th scope="row">{row.label}</th>
                {results.map((r) => {
                  const v = row.values[r.side];
                  return (
                    <td key={r.side} data-side={r.side} data-ms={v ?? ''}>
                      {v === null || v === undefined ? '—' : formatMs(v)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        Server: network is the page's round trip minus the server's own time. Browser: decode is the
        browser's image decoder; preprocess and inference run in WebAssembly.
      </p>
    </section>
  );
}
