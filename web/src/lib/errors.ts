// Maps whatever went wrong (fetch failures, the server's JSON errors, engine and decoder
// exceptions, camera refusals) to one message a person can act on.

export type ErrorKind =
  | 'server-unreachable'
  | 'server-busy'
  | 'server-error'
  | 'unsupported-image'
  | 'image-too-large'
  | 'model-load'
  | 'engine-missing'
  | 'camera-denied'
  | 'camera-missing'
  | 'camera-unavailable'
  | 'unknown';

export interface AppError {
  kind: ErrorKind;
  title: string;
  detail: string;
}

/** A non-2xx answer from `morsel serve`, with its `{"error": {code, message}}` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Reads the server's error body; falls back to the status line when it is not the JSON shape. */
export async function httpErrorFrom(res: Response): Promise<HttpError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body: unknown = await res.json();
    const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (err && typeof err.code === 'string') code = err.code;
    if (err && typeof err.message === 'string') message = err.message;
  } catch {
    // not JSON: keep the status line
  }
  return new HttpError(res.status, code, message);
}

export type ErrorContext = 'server' | 'browser' | 'model' | 'camera' | 'models-list';

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  return String(err);
}

function nameOf(err: unknown): string {
  return err && typeof err === 'object' && 'name' in err ? String((err as { name: unknown }).name) : '';
}

export function toAppError(err: unknown, context: ErrorContext, online = true): AppError {
  if (err instanceof HttpError) {
    switch (err.code) {
      case 'unsupported_media_type':
      case 'invalid_image':
        return {
          kind: 'unsupported-image',
          title: 'Unsupported image',
          detail: `The server could not read this image: ${err.message}. Try a JPEG, PNG or WebP photo.`,
        };
      case 'image_too_large':
      case 'payload_too_large':
        return { kind: 'image-too-large', title: 'Image too large', detail: err.message };
      case 'too_many_requests':
      case 'unavailable':
      case 'deadline_exceeded':
        return {
          kind: 'server-busy',
          title: 'Server busy',
          detail: `${err.message}. Try again in a moment, or classify in the browser.`,
        };
      case 'model_not_found':
      case 'version_not_found':
        return { kind: 'server-error', title: 'Model not on the server', detail: err.message };
      default:
        return { kind: 'server-error', title: `Server error (${err.status})`, detail: err.message };
    }
  }
  const name = nameOf(err);
  const msg = messageOf(err);
  if (context === 'camera') {
    if (name === 'NotAllowedError' || name === 'SecurityError')
      return {
        kind: 'camera-denied',
        title: 'Camera blocked',
        detail: 'Allow camera access for this site in the browser settings, or choose a photo instead.',
      };
    if (name === 'NotFoundError' || name === 'OverconstrainedError')
      return { kind: 'camera-missing', title: 'No camera found', detail: 'Choose a photo or a sample instead.' };
    if (name === 'NotSupportedError' || name === 'TypeError')
      return {
        kind: 'camera-unavailable',
        title: 'Camera unavailable',
        detail: 'This browser offers no camera here (it needs HTTPS or localhost).',
      };
    return { kind: 'camera-unavailable', title: 'Camera unavailable', detail: msg };
  }
  // fetch() rejects with a TypeError when the request never got an answer.
  if ((context === 'server' || context === 'models-list' || context === 'model') && name === 'TypeError') {
    if (context === 'model')
      return {
        kind: 'model-load',
        title: 'Model download failed',
        detail: online
          ? 'The model could not be downloaded from the server. Check that it is running, then retry.'
          : 'You are offline and the model is not stored on this device yet. Connect once to download it.',
      };
    return {
      kind: 'server-unreachable',
      title: online ? 'Server unreachable' : 'Offline',
      detail: online
        ? 'The server did not answer. Browser mode keeps working once the model is loaded.'
        : 'You are offline. Browser mode keeps working once the model is loaded.',
    };
  }
  if (context === 'browser' && (name === 'InvalidStateError' || name === 'EncodingError' || /decode/i.test(msg)))
    return {
      kind: 'unsupported-image',
      title: 'Unsupported image',
      detail: 'This browser could not decode the image. Try a JPEG, PNG or WebP photo.',
    };
  if (context === 'model') {
    if (/not part of this build/.test(msg))
      return { kind: 'engine-missing', title: 'In-browser engine missing', detail: msg };
    return { kind: 'model-load', title: 'Model failed to load', detail: msg };
  }
  return { kind: 'unknown', title: 'Something went wrong', detail: msg };
}
