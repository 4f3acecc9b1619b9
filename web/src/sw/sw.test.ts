// Runs the service worker source in node against a fake worker scope and Cache Storage.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const source = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'sw.js'), 'utf8')
  .replace('self.__MORSEL_VERSION__', '"v1"')
  .replace('self.__MORSEL_PRECACHE__', '["./", "assets/index-abc12345.js", "wasm/morsel.wasm"]');

class FakeCache {
  entries = new Map<string, Response>();
  async match(req: RequestInfo) {
    const r = this.entries.get(typeof req === 'string' ? req : req.url);
    return r?.clone();
  }
  async put(req: RequestInfo, res: Response) {
    this.entries.set(typeof req === 'string' ? req : req.url, res);
  }
  async addAll(reqs: Request[]) {
    for (const r of reqs) this.entries.set(r.url, await fetchImpl(r));
  }
  async keys() {
    return [...this.entries.keys()].map((u) => new Request(u));
  }
  async delete(req: RequestInfo) {
    return this.entries.delete(typeof req === 'string' ? req : req.url);
  }
}

const stores = new Map<string, FakeCache>();
const fakeCaches = {
  async open(name: string) {
    if (!stores.has(name)) stores.set(name, new FakeCache());
    return stores.get(name)!;
  },
  async keys() {
    return [...stores.keys()];
  },
  async delete(name: string) {
    return stores.delete(name);
  },
};

let fetchImpl: (req: Request) => Promise<Response>;
const ORIGIN = 'http://127.0.0.1:8080';

function serverResponse(body: string, headers: Record<string, string> = {}) {
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/plain', ...headers } });
}

interface FetchEventLike {
  request: Request;
  respondWith: (p: Promise<Response>) => void;
  waitUntil: (p: Promise<unknown>) => void;
}

function boot() {
  const listeners: Record<string, (e: unknown) => void> = {};
  const self = {
    registration: { scope: `${ORIGIN}/` },
    addEventListener: (type: string, fn: (e: unknown) => void) => (listeners[type] = fn),
    skipWaiting: vi.fn(async () => undefined),
    clients: { claim: vi.fn(async () => undefined) },
  };
  new Function('self', 'caches', 'fetch', source)(self, fakeCaches, (r: Request) => fetchImpl(new Request(r)));
  return {
    async lifecycle() {
      for (const type of ['install', 'activate']) {
        let done: Promise<unknown> = Promise.resolve();
        listeners[type]!({ waitUntil: (p: Promise<unknown>) => (done = p) });
        await done;
      }
    },
    /** The response the worker gives, or null when it lets the browser handle the request. */
    async fetch(path: string, init: Omit<RequestInit, 'mode'> & { mode?: string } = {}) {
      const { mode, ...rest } = init;
      const request = new Request(path.startsWith('http') ? path : ORIGIN + path, rest);
      if (mode === 'navigate') Object.defineProperty(request, 'mode', { value: 'navigate' });
      let answer: Promise<Response> | null = null;
      const pending: Promise<unknown>[] = [];
      const event: FetchEventLike = { request, respondWith: (p) => (answer = p), waitUntil: (p) => void pending.push(p) };
      listeners.fetch!(event);
      const res = answer ? await answer : null;
      await Promise.all(pending);
      return res;
    },
  };
}

describe('service worker', () => {
  beforeEach(() => {
    stores.clear();
    fetchImpl = async (req) => serverResponse(`net:${new URL(req.url).pathname}`);
  });

  it('precaches the shell and drops older shell caches', async () => {
    stores.set('morsel-shell-old', new FakeCache());
    const sw = boot();
    await sw.lifecycle();
    expect([...stores.keys()]).toEqual(['morsel-shell-v1']);
    expect([...stores.get('morsel-shell-v1')!.entries.keys()]).toEqual([
      `${ORIGIN}/`,
      `${ORIGIN}/assets/index-abc12345.js`,
      `${ORIGIN}/wasm/morsel.wasm`,
    ]);
  });

  it('serves shell files from the cache with isolation headers, also offline', async () => {
    const sw = boot();
    await sw.lifecycle();
    fetchImpl = async () => Promise.reject(new TypeError('offline'));
    const res = (await sw.fetch('/wasm/morsel.wasm'))!;
    expect(await res.text()).toBe('net:/wasm/morsel.wasm');
    expect(res.headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
    expect(res.headers.get('Cross-Origin-Embedder-Policy')).toBe('require-corp');
    expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('same-origin');
  });

  it('loads pages from the network when it can and from the cache when it cannot', async () => {
    const sw = boot();
    await sw.lifecycle();
    fetchImpl = async () => serverResponse('fresh page');
    expect(await (await sw.fetch('/?mode=browser', { mode: 'navigate' }))!.text()).toBe('fresh page');
    fetchImpl = async () => Promise.reject(new TypeError('offline'));
    const offline = (await sw.fetch('/', { mode: 'navigate' }))!;
    expect(await offline.text()).toBe('fresh page');
    expect(offline.headers.get('Cross-Origin-Embedder-Policy')).toBe('require-corp');
  });

  it('leaves the API alone', async () => {
    const sw = boot();
    await sw.lifecycle();
    for (const path of ['/api/models', '/api/classify', '/v2/health/ready', '/metrics', '/v1/models/m/model.morsel']) {
      expect(await sw.fetch(path), path).toBeNull();
    }
    expect(await sw.fetch('/assets/x.js', { method: 'POST', body: 'x' })).toBeNull();
  });

  it('answers a versioned model from the model cache, and from the network otherwise', async () => {
    const sw = boot();
    await sw.lifecycle();
    const url = '/v1/models/m/versions/2/model.morsel';
    const models = await fakeCaches.open('morsel-models-v1');
    await models.put(`${ORIGIN}/v1/models/m/versions/1/model.morsel`, serverResponse('old version'));
    await models.put(`${ORIGIN}/v1/models/other/versions/1/model.morsel`, serverResponse('other model'));
    expect(await (await sw.fetch(url))!.text()).toBe(`net:${url}`);
    // the download is kept, and replaces the older version of the same model only
    expect(await (await models.match(ORIGIN + url))!.text()).toBe(`net:${url}`);
    expect([...models.entries.keys()].sort()).toEqual([
      `${ORIGIN}/v1/models/m/versions/2/model.morsel`,
      `${ORIGIN}/v1/models/other/versions/1/model.morsel`,
    ]);
    await models.put(ORIGIN + url, serverResponse('cached model'));
    fetchImpl = async () => Promise.reject(new TypeError('offline'));
    const res = (await sw.fetch(url))!;
    expect(await res.text()).toBe('cached model');
    expect(res.headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
    // Range requests go to the server as they are.
    expect(await sw.fetch(url, { headers: { Range: 'bytes=0-9' } })).toBeNull();
  });

  it('ignores other origins', async () => {
    const sw = boot();
    await sw.lifecycle();
    expect(await sw.fetch('https://cdn.example.invalid/x.js')).toBeNull();
  });
});
