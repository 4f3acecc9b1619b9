#!/usr/bin/env node
// Runs a TF.js model (layers or graph format) on the pure-JS cpu backend and
// writes its outputs as .npy goldens for morsel's parity tests.
//
//   node tests/parity/tfjs-predict.js [--runs N] MODEL_DIR_OR_MODEL_JSON OUT_DIR INPUT.npy [INPUT.npy ...]
//
// Each INPUT.npy holds an already-preprocessed NHWC float32 batch; the output
// goes to OUT_DIR/<basename of INPUT.npy> as float32 (models with several
// outputs write <name>.<i>.npy). --runs N times N predicts per input and
// prints the median (default 1). Also usable as a module: loadModel(),
// predictNpy() (tests/data/tfjs/gen-fixtures.js uses them).
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('../../scripts/lib/npy.js');

let tf = null;

// Loads @tensorflow/tfjs once and selects the cpu backend (the reference peer).
async function initTf() {
  if (tf) return tf;
  try {
    tf = require('@tensorflow/tfjs');
  } catch (e) {
    throw new Error('@tensorflow/tfjs is not installed; run `npm install --no-audit --no-fund` in the repo root');
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('TF.js cpu backend is not available');
  await tf.ready();
  // Silence the one-time "install tfjs-node" banner; the cpu backend is the
  // reference on purpose here.
  const backend = tf.backend();
  if (backend && 'firstUse' in backend) backend.firstUse = false;
  return tf;
}

// Reads model.json (or DIR/model.json) and its shards into ModelArtifacts,
// exactly as tf.io.http/browserFiles would: weight specs from all groups in
// order, weight data = the groups' shards concatenated in manifest order.
function readArtifacts(modelPath) {
  const jsonPath = fs.existsSync(modelPath) && fs.statSync(modelPath).isDirectory() ?
    path.join(modelPath, 'model.json') : modelPath;
  if (!fs.existsSync(jsonPath)) throw new Error(`model file not found: ${jsonPath}`);
  let json;
  try {
    json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new Error(`${jsonPath} is not valid JSON: ${e.message}`);
  }
  if (!json.modelTopology) throw new Error(`${jsonPath} has no modelTopology`);
  const dir = path.dirname(jsonPath);
  const weightSpecs = [];
  const shards = [];
  for (const group of json.weightsManifest || []) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const shardPath = path.join(dir, p);
      if (!fs.existsSync(shardPath)) throw new Error(`weight shard not found: ${shardPath}`);
      shards.push(fs.readFileSync(shardPath));
    }
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const isGraph = json.format === 'graph-model' || Array.isArray(json.modelTopology.node);
  const artifacts = {
    modelTopology: json.modelTopology,
    weightSpecs,
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
  for (const k of ['trainingConfig', 'signature', 'userDefinedMetadata', 'modelInitializer']) {
    if (json[k] !== undefined) artifacts[k] = json[k];
  }
  return { artifacts, isGraph, jsonPath };
}

// Returns {model, isGraph, jsonPath}; model has .predict(tensor).
async function loadModel(modelPath) {
  await initTf();
  const { artifacts, isGraph, jsonPath } = readArtifacts(modelPath);
  const handler = { load: async () => artifacts }; // a minimal tf.io.IOHandler
  const model = isGraph ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  return { model, isGraph, jsonPath };
}

// Runs the model on one .npy file; returns {outputs: [{data, shape}], ms: [..]}.
function predictNpy(model, inputPath, runs = 1) {
  const arr = npy.read(inputPath);
  if (arr.dtype !== 'float32' && arr.dtype !== 'int32') {
    throw new Error(`${inputPath}: input dtype ${arr.dtype} not supported (want float32 or int32)`);
  }
  const ms = [];
  let outputs = null;
  tf.tidy(() => {
    const x = tf.tensor(arr.data, arr.shape, arr.dtype);
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      let y = model.predict(x);
      y = Array.isArray(y) ? y : [y];
      const data = y.map((t) => t.dataSync()); // forces the computation
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      outputs = y.map((t, i) => ({ data: Float32Array.from(data[i]), shape: t.shape }));
    }
  });
  return { outputs, ms };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(argv) {
  let runs = 1;
  if (argv[0] === '--runs') {
    runs = parseInt(argv[1], 10);
    if (!(runs >= 1)) throw new Error('--runs needs a positive integer');
    argv = argv.slice(2);
  }
  if (argv.length < 3) {
    throw new Error('usage: node tests/parity/tfjs-predict.js [--runs N] MODEL_DIR_OR_MODEL_JSON OUT_DIR INPUT.npy [INPUT.npy ...]');
  }
  const [modelPath, outDir, ...inputs] = argv;
  const t0 = Date.now();
  const { model, isGraph, jsonPath } = await loadModel(modelPath);
  console.log(`loaded ${jsonPath} (${isGraph ? 'graph' : 'layers'} model, TF.js ${tf.version.tfjs}, ` +
    `backend ${tf.getBackend()}) in ${Date.now() - t0} ms`);
  fs.mkdirSync(outDir, { recursive: true });
  for (const input of inputs) {
    const { outputs, ms } = predictNpy(model, input, runs);
    const base = path.basename(input).replace(/\.npy$/, '');
    outputs.forEach((o, i) => {
      const out = path.join(outDir, outputs.length === 1 ? `${base}.npy` : `${base}.${i}.npy`);
      npy.write(out, o.data, o.shape);
      const batch = o.shape[0] || 1;
      const t = median(ms);
      console.log(`${input}: output [${o.shape}] -> ${out}; ${t.toFixed(1)} ms per batch, ` +
        `${(t / batch).toFixed(1)} ms per image` + (runs > 1 ? ` (median of ${runs}: ${ms.map((v) => v.toFixed(0)).join(' ')})` : ''));
    });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error('tfjs-predict: ' + (e && e.message ? e.message : e));
    process.exit(1);
  });
}

module.exports = { initTf, readArtifacts, loadModel, predictNpy };
