import { describe, expect, it, vi } from 'vitest';
import { HttpError } from './errors';
import { classifyOnServer, classifyUrl, parseModels } from './server-api';

const jpeg = new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])], { type: '' });

describe('parseModels', () => {
  it('keeps well-formed models and the default', () => {
    const m = parseModels({
      default_model: 'a',
      ready: true,
      models: [{ name: 'a', url: '/v1/models/a/versions/1/model.morsel', labels: ['x'] }, { name: 'broken' }, null],
    });
    expect(m.models.map((x) => x.name)).toEqual(['a']);
    expect(m.default_model).toBe('a');
  });
  it('rejects an answer without a model list', () => {
    expect(() => parseModels({ error: 'x' })).toThrow(/no model list/);
    expect(() => parseModels(null)).toThrow();
  });
  it('defaults to the first model', () => {
    expect(parseModels({ models: [{ name: 'b', url: 'u', labels: [] }] }).default_model).toBe('b');
  });
});

describe('classifyUrl', () => {
  it('names the model when there is one, escaping it', () => {
    expect(classifyUrl('mobilenet_v2', 5)).toBe('v1/models/mobilenet_v2:classify?top_k=5');
    expect(classifyUrl('a b', 3)).toBe('v1/models/a%20b:classify?top_k=3');
    expect(classifyUrl(null, 0)).toBe('api/classify?top_k=1');
  });
});

describe('classifyOnServer', () => {
  it('posts the bytes with the sniffed type and splits the timings', async () => {
    const fetchFn = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      expect((init?.headers as Record<string, string>)['Content-Type']).toBe('image/jpeg');
      expect(init?.method).toBe('POST');
      return new Response(
        JSON.stringify({
          predictions: [{ label: 'Neutral', index: 2, score: 0.9 }],
          timings_ms: { queue: 0.1, decode: 1, preprocess: 0.5, inference: 5, total: 7 },
        }),
        { status: 200 },
      );
    });
    let clock = 100;
    const now = () => (clock += 5); // sent at 105, answer parsed at 110: a wall time of 5 ms
    const r = await classifyOnServer(jpeg, { model: 'm', topK: 5, fetchFn: fetchFn as typeof fetch, now });
    expect(fetchFn).toHaveBeenCalledWith('v1/models/m:classify?top_k=5', expect.anything());
    expect(r.side).toBe('server');
    expect(r.predictions[0]?.label).toBe('Neutral');
    expect(r.timings.inferenceMs).toBe(5);
    expect(r.timings.totalMs).toBe(7); // the wall time (5) is below the server's own total
    expect(r.timings.networkMs).toBe(0);
  });
  it("throws the server's error as an HttpError", async () => {
    const fetchFn = async () =>
      new Response(JSON.stringify({ error: { code: 'invalid_image', message: 'truncated JPEG' } }), { status: 422 });
    await expect(classifyOnServer(jpeg, { model: null, topK: 5, fetchFn: fetchFn as typeof fetch })).rejects.toMatchObject({
      status: 422,
      code: 'invalid_image',
    });
    await expect(classifyOnServer(jpeg, { model: null, topK: 5, fetchFn: fetchFn as typeof fetch })).rejects.toBeInstanceOf(HttpError);
  });
  it('rejects a 200 without predictions', async () => {
    const fetchFn = async () => new Response('{}', { status: 200 });
    await expect(classifyOnServer(jpeg, { model: null, topK: 5, fetchFn: fetchFn as typeof fetch })).rejects.toThrow(/without predictions/);
  });
});
