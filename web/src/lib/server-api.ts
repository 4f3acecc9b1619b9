// The calls the app makes to `morsel serve` (docs/server-api.md): the model list and classify.
import { httpErrorFrom } from './errors';
import { contentTypeFor, sniffBlob } from './image';
import { splitServerTimings, type ServerTimingsMs } from './timings';
import type { Prediction, SideResult } from './types';

export interface ServerModel {
  name: string;
  version: string;
  description: string;
  labels: string[];
  num_classes: number;
  size_bytes: number;
  input: { height: number; width: number; channels: number };
  preprocess?: { resize?: string; crop?: string; height?: number; width?: number };
  quantization: string;
  source_format?: string;
  /** The versioned, immutable download URL of the .morsel file. */
  url: string;
  etag?: string;
}

export interface ModelsResponse {
  default_model: string | null;
  ready: boolean;
  models: ServerModel[];
}

type FetchFn = typeof fetch;

/** Checks the shape of GET /api/models, so a wrong answer fails here and not deep in the UI. */
export function parseModels(body: unknown): ModelsResponse {
  const b = body as Partial<ModelsResponse> | null;
  if (!b || !Array.isArray(b.models)) throw new Error('the server sent no model list');
  const models = b.models.filter(
    (m): m is ServerModel =>
      !!m && typeof m.name === 'string' && typeof m.url === 'string' && Array.isArray(m.labels),
  );
  return {
    default_model: typeof b.default_model === 'string' ? b.default_model : (models[0]?.name ?? null),
    ready: b.ready !== false,
    models,
  };
}

export async function fetchModels(fetchFn: FetchFn = fetch, signal?: AbortSignal): Promise<ModelsResponse> {
  const res = await fetchFn('api/models', { cache: 'no-store', signal });
  if (!res.ok) throw await httpErrorFrom(res);
  return parseModels(await res.json());
}

interface ClassifyBody {
  predictions?: Prediction[];
  timings_ms?: ServerTimingsMs;
}

export function classifyUrl(model: string | null, topK: number): string {
  const k = Math.max(1, Math.floor(topK));
  return model
    ? `v1/models/${encodeURIComponent(model)}:classify?top_k=${k}`
    : `api/classify?top_k=${k}`;
}

/** Sends the image's bytes as they are; the server decodes and preprocesses them. */
export async function classifyOnServer(
  image: Blob,
  opts: { model: string | null; topK: number; fetchFn?: FetchFn; now?: () => number; signal?: AbortSignal },
): Promise<SideResult> {
  const fetchFn = opts.fetchFn ?? fetch;
  const now = opts.now ?? (() => performance.now());
  const kind = await sniffBlob(image);
  const t0 = now();
  const res = await fetchFn(classifyUrl(opts.model, opts.topK), {
    method: 'POST',
    body: image,
    headers: { 'Content-Type': contentTypeFor(kind, image.type) },
    cache: 'no-store',
    signal: opts.signal,
  });
  if (!res.ok) throw await httpErrorFrom(res);
  const body = (await res.json()) as ClassifyBody;
  const wall = now() - t0;
  if (!Array.isArray(body.predictions)) throw new Error('the server answered without predictions');
  return {
    side: 'server',
    predictions: body.predictions,
    timings: splitServerTimings(wall, body.timings_ms ?? {}),
  };
}
