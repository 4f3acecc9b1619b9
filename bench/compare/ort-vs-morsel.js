#!/usr/bin/env node
// Side by side, in one run: morsel (native CPU, `morsel bench --interactive` as a child process)
// and ONNX Runtime (onnxruntime-node, native CPU) on the same architecture and input shape.
// Rounds alternate between the two engines so both see the same machine load; the table
// quotes medians over all timed runs and the ratio morsel / ORT.
//
//   node bench/compare/ort-vs-morsel.js --morsel M.morsel --onnx M.onnx [--threads 1,2]
//        [--rounds 10] [--per-round 10] [--warmup 5] [--settle-ms 50] [--label text] [--json OUT.json]
'use strict';
const path = require('path');
const { startMorsel } = require('./morsel-child');
const fs = require('fs');

function parseArgs(argv) {
  const a = { threads: [1, 2], rounds: 10, perRound: 10, warmup: 5, settleMs: 50, morselBin: null, label: '' };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--morsel') { a.morsel = v; i++; }
    else if (k === '--onnx') { a.onnx = v; i++; }
    else if (k === '--threads') { a.threads = v.split(',').map(Number); i++; }
    else if (k === '--rounds') { a.rounds = Number(v); i++; }
    else if (k === '--per-round') { a.perRound = Number(v); i++; }
    else if (k === '--warmup') { a.warmup = Number(v); i++; }
    else if (k === '--settle-ms') { a.settleMs = Number(v); i++; }
    else if (k === '--bin') { a.morselBin = v; i++; }
    else if (k === '--label') { a.label = v; i++; }
    else if (k === '--json') { a.json = v; i++; }
    else throw new Error('unknown argument ' + k);
  }
  if (!a.morsel || !a.onnx) throw new Error('need --morsel FILE and --onnx FILE');
  a.morselBin = a.morselBin || path.join(__dirname, '../../build/release/morsel');
  return a;
}

function median(v) {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function pct(v, p) {
  const s = [...v].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}


async function main() {
  const a = parseArgs(process.argv);
  const ort = require('onnxruntime-node');
  const rows = [];
  for (const t of a.threads) {
    const sess = await ort.InferenceSession.create(a.onnx, {
      intraOpNumThreads: t, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const inName = sess.inputNames[0];
    const meta = sess.inputMetadata ? sess.inputMetadata.find?.((m) => m.name === inName) : null;
    let dims = meta && meta.shape ? meta.shape.map((d) => (typeof d === 'number' ? d : 1)) : null;
    if (!dims) throw new Error('cannot read the ONNX input shape');
    dims[0] = 1;
    const n = dims.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) % 1000) / 1000;
    const feeds = { [inName]: new ort.Tensor('float32', data, dims) };
    const ortRun = async (k) => {
      const ms = [];
      for (let i = 0; i < k; i++) {
        const t0 = process.hrtime.bigint();
        await sess.run(feeds);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return ms;
    };
    const m = startMorsel(a.morselBin, a.morsel, t);
    const info = await m.ready;
    await ortRun(a.warmup);
    await m.run(a.warmup);
    const ortMs = [], morselMs = [];
    // Both engines' thread pools spin for a while after a run; a short pause between engines
    // keeps one engine's spinning threads from taking cores from the other's runs.
    const settle = () => new Promise((resolve) => setTimeout(resolve, a.settleMs));
    for (let r = 0; r < a.rounds; r++) {
      // Alternate which engine goes first in each round.
      if (r % 2 === 0) {
        ortMs.push(...await ortRun(a.perRound)); await settle();
        morselMs.push(...await m.run(a.perRound)); await settle();
      } else {
        morselMs.push(...await m.run(a.perRound)); await settle();
        ortMs.push(...await ortRun(a.perRound)); await settle();
      }
    }
    m.stop();
    await sess.release?.();
    const row = {
      threads: t, isa: info.isa,
      ort_median_ms: median(ortMs), ort_p90_ms: pct(ortMs, 0.9),
      morsel_median_ms: median(morselMs), morsel_p90_ms: pct(morselMs, 0.9),
      runs: ortMs.length,
    };
    row.ratio = row.morsel_median_ms / row.ort_median_ms;
    rows.push(row);
  }
  const title = a.label || path.basename(a.onnx);
  console.log(`\n${title}: morsel ${path.basename(a.morsel)} vs onnxruntime-node ${require('onnxruntime-node/package.json').version} ${path.basename(a.onnx)}`);
  console.log('| threads | ORT median ms | ORT p90 | morsel median ms | morsel p90 | morsel / ORT |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.threads} | ${r.ort_median_ms.toFixed(2)} | ${r.ort_p90_ms.toFixed(2)} | ` +
                `${r.morsel_median_ms.toFixed(2)} | ${r.morsel_p90_ms.toFixed(2)} | **${r.ratio.toFixed(2)}×** |`);
  console.log(`(${rows[0].runs} timed runs per engine and thread count, ${a.rounds} alternating rounds; morsel kernels ${rows[0].isa})`);
  if (a.json) fs.writeFileSync(a.json, JSON.stringify({ label: title, morsel: a.morsel, onnx: a.onnx, rows }, null, 2));
}

main().catch((e) => { console.error('ort-vs-morsel: ' + (e && e.message ? e.message : e)); process.exit(1); });
