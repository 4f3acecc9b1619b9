import { describe, expect, it } from 'vitest';
import { HttpError, httpErrorFrom, toAppError } from './errors';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('httpErrorFrom', () => {
  it("reads the server's error shape", async () => {
    const e = await httpErrorFrom(json(415, { error: { code: 'unsupported_media_type', message: 'cannot decode GIF data' } }));
    expect(e).toBeInstanceOf(HttpError);
    expect(e.status).toBe(415);
    expect(e.code).toBe('unsupported_media_type');
    expect(e.message).toBe('cannot decode GIF data');
  });
  it('falls back to the status when the body is not that shape', async () => {
    const e = await httpErrorFrom(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(e.code).toBe('http_502');
    expect(e.message).toBe('Bad Gateway');
  });
});

describe('toAppError', () => {
  it('maps image errors from the server to "unsupported image"', () => {
    for (const code of ['unsupported_media_type', 'invalid_image']) {
      expect(toAppError(new HttpError(415, code, 'x'), 'server').kind).toBe('unsupported-image');
    }
    expect(toAppError(new HttpError(413, 'image_too_large', 'too big'), 'server').kind).toBe('image-too-large');
  });
  it('maps overload and shutdown to "server busy"', () => {
    expect(toAppError(new HttpError(429, 'too_many_requests', 'queue full'), 'server').kind).toBe('server-busy');
    expect(toAppError(new HttpError(503, 'unavailable', 'draining'), 'server').kind).toBe('server-busy');
  });
  it('keeps other server errors with their status', () => {
    const e = toAppError(new HttpError(500, 'internal', 'oops'), 'server');
    expect(e.kind).toBe('server-error');
    expect(e.title).toContain('500');
  });
  it('turns a failed fetch into "server unreachable", or "offline" when the browser is', () => {
    const online = toAppError(new TypeError('Failed to fetch'), 'server', true);
    expect(online.kind).toBe('server-unreachable');
    expect(online.title).toBe('Server unreachable');
    expect(toAppError(new TypeError('Failed to fetch'), 'server', false).title).toBe('Offline');
  });
  it('explains a model download that failed offline', () => {
    const e = toAppError(new TypeError('Failed to fetch'), 'model', false);
    expect(e.kind).toBe('model-load');
    expect(e.detail).toMatch(/offline/);
  });
  it('reports a missing engine and a broken model file apart', () => {
    expect(toAppError(new Error('the in-browser engine is not part of this build'), 'model').kind).toBe('engine-missing');
    expect(toAppError(new Error('bad magic'), 'model').kind).toBe('model-load');
  });
  it('maps a browser decode failure to "unsupported image"', () => {
    const err = Object.assign(new Error('The source image could not be decoded.'), { name: 'InvalidStateError' });
    expect(toAppError(err, 'browser').kind).toBe('unsupported-image');
  });
  it('maps camera refusals', () => {
    const named = (name: string) => Object.assign(new Error(name), { name });
    expect(toAppError(named('NotAllowedError'), 'camera').kind).toBe('camera-denied');
    expect(toAppError(named('NotFoundError'), 'camera').kind).toBe('camera-missing');
    expect(toAppError(new TypeError('no getUserMedia'), 'camera').kind).toBe('camera-unavailable');
  });
  it('keeps the message of anything else', () => {
    const e = toAppError('weird', 'browser');
    expect(e.kind).toBe('unknown');
    expect(e.detail).toBe('weird');
  });
});
