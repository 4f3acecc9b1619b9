import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { forgetModel, modelFamilyPrefix, readStoredModel, rememberModel } from './model-cache';

describe('modelFamilyPrefix', () => {
  it('groups the versions of one model', () => {
    expect(modelFamilyPrefix('/v1/models/mobilenet_v2/versions/3/model.morsel')).toBe('/v1/models/mobilenet_v2/versions/');
    expect(modelFamilyPrefix('/app/v1/models/a.b-c/versions/12/model.morsel')).toBe('/app/v1/models/a.b-c/versions/');
  });
  it('ignores the unversioned URL and anything else', () => {
    expect(modelFamilyPrefix('/v1/models/mobilenet_v2/model.morsel')).toBeNull();
    expect(modelFamilyPrefix('/api/models')).toBeNull();
  });
});

describe('stored models', () => {
  const store = new Map<string, Response>();
  const fakeCache = {
    match: async (u: string) => store.get(u)?.clone(),
    put: async (u: string, r: Response) => void store.set(u, r),
    delete: async (u: string | Request) => store.delete(typeof u === 'string' ? u : u.url),
    keys: async () => [...store.keys()].map((u) => new Request(u)),
  };
  const bytes = new Uint8Array([1, 2, 3, 4, 5]);
  const abs = 'http://host/v1/models/m/versions/2/model.morsel';

  beforeEach(() => {
    store.clear();
    vi.stubGlobal('caches', { open: async () => fakeCache });
  });
  afterEach(() => vi.unstubAllGlobals());

  const serve = (body: Uint8Array, length = body.length) =>
    vi.fn(async () => new Response(body as unknown as BodyInit, { headers: { 'Content-Length': String(length), ETag: '"e"' } }));

  it('reads a stored model with progress, and nothing when none is stored', async () => {
    expect(await readStoredModel(abs, () => undefined)).toBeNull();
    store.set(abs, new Response(bytes as unknown as BodyInit, { headers: { 'Content-Length': '5' } }));
    const progress: [number, number | null][] = [];
    const got = await readStoredModel(abs, (l, t) => progress.push([l, t]));
    expect(new Uint8Array(got!)).toEqual(bytes);
    expect(progress.at(-1)).toEqual([5, 5]);
  });

  it('remembers a model, dropping older versions of it only', async () => {
    store.set('http://host/v1/models/m/versions/1/model.morsel', new Response('old'));
    store.set('http://host/v1/models/other/versions/1/model.morsel', new Response('other'));
    vi.stubGlobal('fetch', serve(bytes));
    await rememberModel(abs);
    expect(new Uint8Array(await store.get(abs)!.clone().arrayBuffer())).toEqual(bytes);
    expect(store.get(abs)!.headers.get('Cross-Origin-Resource-Policy')).toBe('same-origin');
    expect(store.has('http://host/v1/models/m/versions/1/model.morsel')).toBe(false);
    expect(store.has('http://host/v1/models/other/versions/1/model.morsel')).toBe(true);
  });

  it('does not fetch a model that is already stored', async () => {
    store.set(abs, new Response('stored'));
    const fetchSpy = vi.fn();
    vi.stubGlobal('fetch', fetchSpy);
    await rememberModel(abs);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('stores nothing from a cut-short or failed download', async () => {
    vi.stubGlobal('fetch', serve(bytes, 10));
    await rememberModel(abs);
    vi.stubGlobal('fetch', vi.fn(async () => new Response('no', { status: 404 })));
    await rememberModel(abs);
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('offline'))));
    await rememberModel(abs);
    expect(store.size).toBe(0);
  });

  it('forgets a stored model', async () => {
    store.set(abs, new Response('bad'));
    await forgetModel(abs);
    expect(store.size).toBe(0);
  });
});
