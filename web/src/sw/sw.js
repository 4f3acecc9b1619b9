// The app's service worker (plain JS, no library). At install it stores the app shell, the
// WebAssembly engine, the icons and the sample photos (the build puts their list below); it
// answers them from the cache, the page from the network when it can (else from the cache), and
// the versioned model files from the cache that the page fills when it downloads a model.
// Every response it hands out carries COOP/COEP/CORP, so the page stays crossOriginIsolated (and
// the engine keeps its threads) when it is served offline.

const VERSION = self.__MORSEL_VERSION__;
const PRECACHE = self.__MORSEL_PRECACHE__;
const SHELL_CACHE = `morsel-shell-${VERSION}`;
const MODEL_CACHE = 'morsel-models-v1'; // same name as src/lib/model-cache.ts
const SCOPE = new URL(self.registration.scope);

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

// Paths the server answers itself (API, metrics): never cached, never faked.
const API = /^\/(api|v2|metrics|openapi\.json)(\/|$)|^\/v1\//;
// A model file at an exact version: immutable, so cache-first is always right.
const VERSIONED_MODEL = /^\/v1\/models\/[^/]+\/versions\/[^/]+\/model\.morsel$/;


function withIsolation(res) {
  if (!res || res.type === 'opaque' || res.status !== 200) return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(ISOLATION)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      const requests = PRECACHE.map((p) => new Request(new URL(p, SCOPE).href, { cache: 'reload' }));
      await cache.addAll(requests);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('morsel-shell-') && name !== SHELL_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function fromCache(cacheName, request) {
  const cache = await caches.open(cacheName);
  return cache.match(request, { ignoreVary: true });
}

// A page load waits this long for the network before the cached page is used (a network that
// neither answers nor fails should not leave the app blank).
const NAVIGATION_TIMEOUT_MS = 4000;

function fetchWithin(request, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('network timeout')), ms);
    fetch(request).then(
      (res) => {
        clearTimeout(timer);
        resolve(res);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

async function navigation(request) {
  try {
    const res = await fetchWithin(request, NAVIGATION_TIMEOUT_MS);
    if (res.ok) {
      const cache = await caches.open(SHELL_CACHE);
      await cache.put(new URL('./', SCOPE).href, res.clone());
    }
    return withIsolation(res);
  } catch (err) {
    const cached = await fromCache(SHELL_CACHE, new URL('./', SCOPE).href);
    if (cached) return withIsolation(cached);
    throw err;
  }
}

async function shellAsset(request) {
  const cached = await fromCache(SHELL_CACHE, request);
  if (cached) return withIsolation(cached);
  const res = await fetch(request);
  if (res.ok && res.type === 'basic') {
    const cache = await caches.open(SHELL_CACHE);
    await cache.put(request, res.clone());
  }
  return withIsolation(res);
}

// Keeps a model the network just sent (while the page reads the same bytes), dropping the older
// versions of that model. The page deletes it again if the engine rejects it.
async function storeModel(url, res) {
  const cache = await caches.open(MODEL_CACHE);
  const prefix = url.replace(/\/versions\/[^/]+\/model\.morsel$/, '/versions/');
  for (const req of await cache.keys()) {
    if (req.url.startsWith(prefix) && req.url !== url) await cache.delete(req);
  }
  await cache.put(url, res);
}

async function model(event) {
  const request = event.request;
  const cached = await fromCache(MODEL_CACHE, request);
  if (cached) return withIsolation(cached);
  const res = await fetch(request);
  if (res.status === 200) event.waitUntil(storeModel(request.url, res.clone()).catch((err) => console.warn("morsel: model not stored", err)));
  return withIsolation(res);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== SCOPE.origin) return;
  const path = url.pathname;
  if (VERSIONED_MODEL.test(path)) {
    if (request.headers.has('Range')) return;
    event.respondWith(model(event));
    return;
  }
  if (API.test(path)) return;
  if (!url.pathname.startsWith(SCOPE.pathname)) return;
  if (request.mode === 'navigate') {
    event.respondWith(navigation(request));
    return;
  }
  event.respondWith(shellAsset(request));
});

self.addEventListener('message', (event) => {
  if (event.data === 'version' && event.source) event.source.postMessage({ version: VERSION });
});
