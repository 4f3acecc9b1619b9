// Keeps downloaded .morsel files in the Cache API, so the in-browser engine loads offline. Model URLs name an exact version (immutable), so a cached copy never goes stale;
// storing a new version of a model drops the older ones. The service worker reads the same cache.

export const MODEL_CACHE = 'morsel-models-v1';

export type Progress = (loaded: number, total: number | null) => void;

/** "/v1/models/NAME/versions/V/model.morsel" -> the prefix shared by all versions of NAME. */
export function modelFamilyPrefix(url: string): string | null {
  const m = /^(.*\/v1\/models\/[^/]+\/versions\/)[^/]+\/model\.morsel$/.exec(url);
  return m ? (m[1] ?? null) : null;
}

async function readWithProgress(res: Response, onProgress: Progress): Promise<ArrayBuffer> {
  const header = res.headers.get('Content-Length');
  const total = header && /^\d+$/.test(header) ? Number(header) : null;
  if (!res.body) {
    const buf = await res.arrayBuffer();
    onProgress(buf.byteLength, buf.byteLength);
    return buf;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  onProgress(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out.buffer;
}

async function openCache(): Promise<Cache | null> {
  return 'caches' in globalThis ? caches.open(MODEL_CACHE).catch(() => null) : null;
}

/** The stored copy of a model (absolute URL), read with progress, or null when none is stored. */
export async function readStoredModel(url: string, onProgress: Progress): Promise<ArrayBuffer | null> {
  const cache = await openCache();
  const hit = cache ? await cache.match(url) : undefined;
  return hit ? readWithProgress(hit, onProgress) : null;
}

/** Drops a stored copy that the engine rejected, so the next try downloads it again. */
export async function forgetModel(url: string): Promise<void> {
  const cache = await openCache();
  await cache?.delete(url);
}

/**
 * Stores a model that the engine just loaded from the network, for offline use, and drops the
 * older versions of the same model. The bytes come from the browser's HTTP cache (the URL is
 * immutable), or from the service worker's copy, so this rarely downloads the model twice.
 */
export async function rememberModel(url: string): Promise<void> {
  try {
    const cache = await openCache();
    if (!cache || (await cache.match(url))) return;
    const res = await fetch(url);
    if (!res.ok) return;
    const bytes = await res.arrayBuffer();
    const declared = Number(res.headers.get('Content-Length'));
    if (declared > 0 && declared !== bytes.byteLength) return;
    const prefix = modelFamilyPrefix(new URL(url).pathname);
    if (prefix) {
      for (const req of await cache.keys()) {
        if (new URL(req.url).pathname.startsWith(prefix) && req.url !== url) await cache.delete(req);
      }
    }
    await cache.put(
      url,
      new Response(bytes, {
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(bytes.byteLength),
          ETag: res.headers.get('ETag') ?? '',
          'Cross-Origin-Resource-Policy': 'same-origin',
        },
      }),
    );
  } catch (err) {
    // Storage full or refused: the model still runs now, it just will not be there offline.
    console.warn('morsel: the model could not be stored for offline use', err);
  }
}
