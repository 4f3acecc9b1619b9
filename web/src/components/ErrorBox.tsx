// One error, stated plainly, with an optional action (retry, switch mode).
import type { AppError } from '../lib/errors';

export function ErrorBox(props: { error: AppError; action?: { label: string; onClick: () => void }; testId?: string }) {
  const { error, action, testId } = props;
  return (
    <div className="error" role="alert" data-testid={testId} data-kind={error.kind}>
      <strong className="error-title">{error.title}</strong>
      <p className="error-detail">{error.detail}</p>
      {action ? (
        <button type="button" className="btn btn-small" onClick={action.onClick}>
          {action.label}
        </button>
      ) : null}
    </div>
  );
}
