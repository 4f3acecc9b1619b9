// Where the classification runs: a segmented radio group.
import { MODE_LABELS, MODES } from '../../lib/mode';
import type { Mode } from '../../lib/types';

const HINTS: Record<Mode, string> = {
  server: 'Upload to morsel serve',
  browser: 'On this device, offline',
  both: 'Side by side',
};

export function ModeSwitch(props: { mode: Mode; onChange: (m: Mode) => void; serverReachable: boolean | null }) {
  const { mode, onChange, serverReachable } = props;
  return (
    <fieldset className="mode-switch">
      <legend>Where it runs</legend>
      <div className="segmented" role="radiogroup" aria-label="Where it runs">
        {MODES.map((m) => (
          <label key={m} className={m === mode ? 'segment selected' : 'segment'} data-testid={`mode-${m}`}>
            <input type="radio" name="mode" value={m} checked={m === mode} onChange={() => onChange(m)} />
            <span className="segment-title">{MODE_LABELS[m]}</span>
            <span className="segment-hint">
              {m !== 'browser' && serverReachable === false ? 'Server unreachable' : HINTS[m]}
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
