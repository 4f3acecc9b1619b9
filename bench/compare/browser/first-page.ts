// Page load to first prediction: the wrapper picks the engine build (morsel-mt on a cross-origin
// isolated page when threads > 1), fetches it and the model, and classifies the page's photo.
// window.firstPrediction.ms is performance.now() at that moment: ms since navigation start.
import { load } from '../../../wasm/js/morsel';

/* eslint-disable @typescript-eslint/no-explicit-any */
const params = new URLSearchParams(location.search);
const threads = Number(params.get('threads') || 1);
const model = params.get('model') || '';
(async () => {
  const img = document.getElementById('photo') as HTMLImageElement;
  const [m] = await Promise.all([load(model, { threads, wasmBase: '/morsel/' }), img.decode()]);
  const r = await m.classify(img, { topK: 3 });
  const ms = performance.now();
  (window as any).firstPrediction = { ms, info: { ...m.info, labels: undefined }, predictions: r.predictions,
                                      timings: r.timings };
})().catch((e) => {
  (window as any).firstPrediction = { error: String(e && e.stack ? e.stack : e) };
});
