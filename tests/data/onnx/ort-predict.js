#!/usr/bin/env node
// Runs an ONNX model on onnxruntime-node (CPU) and writes its outputs as .npy goldens for
// morsel's ONNX importer tests:
//
//   node tests/data/onnx/ort-predict.js MODEL.onnx INPUT.npy OUT_PREFIX
//
// INPUT.npy feeds the model's first input (float32, the shape the model declares, NCHW for
// images); output i goes to OUT_PREFIX.<i>.npy (float32) in the model's output order.
'use strict';

const path = require('path');
const npy = require('../../../scripts/lib/npy.js');

async function main(argv) {
  if (argv.length !== 3) throw new Error('usage: node tests/data/onnx/ort-predict.js MODEL.onnx INPUT.npy OUT_PREFIX');
  const [modelPath, inputPath, outPrefix] = argv;
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    throw new Error('onnxruntime-node is not installed; run scripts/setup');
  }
  // One thread and no graph rewrites: the plain reference answer.
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', intraOpNumThreads: 1,
  });
  const x = npy.read(inputPath);
  if (x.dtype !== 'float32') throw new Error(`${inputPath}: want float32, got ${x.dtype}`);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) };
  const out = await session.run(feeds);
  session.outputNames.forEach((name, i) => {
    const t = out[name];
    if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}`);
    npy.write(`${outPrefix}.${i}.npy`, Float32Array.from(t.data), t.dims.map(Number));
  });
  console.log(`${path.basename(modelPath)}: ${session.outputNames.length} output(s) -> ${outPrefix}.*.npy`);
}

main(process.argv.slice(2)).catch((e) => {
  console.error('ort-predict: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
