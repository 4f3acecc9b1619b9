#!/usr/bin/env node
// Compares builds of the one-thread wasm engine side by side in one node process: each DIR holds
// a morsel.js + morsel.wasm (e.g. build/wasm/wasm and a copy built with other kernel tiles or
// flags); rounds alternate between them and the table gives each build's median inference time
// (the engine's own timings.inferenceMs) on one model, 224x224 pixels, and its ratio to the
// first. This is how the wasmsimd GEMM tile was chosen (src/kernels/f32/f32-wasmsimd.cpp).
//
//   node --no-experimental-fetch bench/compare/wasm-builds.js MODEL.morsel DIR [DIR...]
//        [--rounds 10] [--per-round 10]
'use strict';
const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const a = { rounds: 10, perRound: 10, dirs: [] };
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--rounds') a.rounds = Number(argv[++i]);
    else if (argv[i] === '--per-round') a.perRound = Number(argv[++i]);
    else if (!a.model) a.model = argv[i];
    else a.dirs.push(path.resolve(argv[i]));
  }
  if (!a.model || !a.dirs.length) throw new Error('usage: wasm-builds.js MODEL.morsel DIR [DIR...]');
  return a;
}

const median = (v) => {
  const s = [...v].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// One engine instance per build, driving the C exports directly (wasm/morsel-wasm.cpp).
async function engine(dir, model) {
  const M = await require(path.join(dir, 'morsel.js'))({ locateFile: (p) => path.join(dir, p) });
  const data = M._morsel_wasm_alloc(model.length);
  M.HEAPU8.set(model, data);
  const e = M._morsel_wasm_load(data, model.length, 1);
  if (!e) throw new Error(`${dir}: ${M.UTF8ToString(M._morsel_wasm_last_error())}`);
  const S = 224, px = M._morsel_wasm_alloc(S * S * 4), out = M._morsel_wasm_alloc(64);
  for (let i = 0; i < S * S * 4; i++) M.HEAPU8[px + i] = (i * 7919) & 255;
  return () => {
    if (M._morsel_wasm_classify(e, px, S, S, S * 4, 5, out, out + 20, out + 40) < 0)
      throw new Error(M.UTF8ToString(M._morsel_wasm_last_error()));
    return M.HEAPF64[(out + 40) / 8 + 1];
  };
}

async function main() {
  const a = parseArgs(process.argv);
  const model = fs.readFileSync(a.model);
  const builds = [];
  for (const dir of a.dirs) {
    const run = await engine(dir, model);
    for (let i = 0; i < 5; i++) run();
    builds.push({ dir, run, ms: [] });
  }
  for (let r = 0; r < a.rounds; r++)
    for (let j = 0; j < builds.length; j++) {
      const b = builds[(r + j) % builds.length];
      for (let i = 0; i < a.perRound; i++) b.ms.push(b.run());
    }
  const base = median(builds[0].ms);
  console.log(`| build | median ms | min ms | vs first |\n|---|---|---|---|`);
  for (const b of builds)
    console.log(`| ${b.dir} | ${median(b.ms).toFixed(2)} | ${Math.min(...b.ms).toFixed(2)} | ` +
                `${(median(b.ms) / base).toFixed(3)} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
