#!/usr/bin/env node
// Generates the TF.js importer fixtures under tests/data/tfjs/<fixture>/:
// model.json + weight shards, input.npy (seeded, batch 2, NHWC float32) and
// expected.npy (what TF.js 4.22 on the cpu backend outputs after loading the
// files written here, so goldens include TF.js's own weight decoding).
//
//   node tests/data/tfjs/gen-fixtures.js [FIXTURE ...]    (default: all)
//
// Deterministic: every weight and input comes from a seeded PRNG and layer
// names are explicit, so re-running rewrites byte-identical files. To add a
// fixture, write a builder returning a model (layers) or a Graph (graph) and
// add it to FIXTURES at the bottom. README.md beside this file lists them.
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('../../../scripts/lib/npy.js');
const { initTf, loadModel, predictNpy } = require('../../parity/tfjs-predict.js');

const OUT_ROOT = __dirname;
let tf = null; // set in main()

// ---------------------------------------------------------------- PRNG

// mulberry32: small, fast, well-distributed 32-bit PRNG; returns [0, 1).
function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(rng, n, lo, hi) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng();
  return out;
}

const prod = (shape) => shape.reduce((a, b) => a * b, 1);

// ------------------------------------------------------ weight encodings

// float32 -> IEEE 754 half bits, round-to-nearest-even (what numpy's
// astype(float16) and hence the tfjs-converter's --quantize_float16 do).
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
function f32ToF16Bits(v) {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) { // half subnormal (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // may carry into exp: correct
  return sign | half;
}

// numpy's np.round: half to even.
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

// Affine uint8/uint16 quantization exactly as tfjs-converter's
// quantization.quantize_weights: scale = (max-min)/qmax, min nudged so that
// 0.0 is exactly representable when it lies in [min, max]; value = q*scale+min.
function quantizeAffine(values, qmax) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) { min = Math.min(min, v); max = Math.max(max, v); }
  const q = new (qmax === 255 ? Uint8Array : Uint16Array)(values.length);
  if (min === max) return { q, min, scale: 1.0 }; // all zeros
  const scale = (max - min) / qmax;
  let nmin = min;
  let nmax = max;
  if (min <= 0 && 0 <= max) {
    nmin = -roundHalfEven((0 - min) / scale) * scale;
    nmax = qmax * scale + nmin;
  }
  for (let i = 0; i < values.length; i++) {
    const c = Math.min(Math.max(values[i], nmin), nmax);
    q[i] = roundHalfEven((c - nmin) / scale);
  }
  return { q, min: nmin, scale };
}

// Encodes weights [{name, shape, dtype, data}] as one manifest group's
// entries + concatenated bytes. `encoding` applies to float32 weights only
// (the converter never quantizes int32): 'float32' | 'float16' | 'uint8' | 'uint16'.
// Manifest forms (the ones TF.js's io_utils.decodeWeights accepts):
//   float32: {dtype:'float32'}
//   float16: {dtype:'float32', quantization:{dtype:'float16', original_dtype:'float32'}}
//   uint8/16: {dtype:'float32', quantization:{dtype:'uint8'|'uint16', min, scale, original_dtype:'float32'}}
function encodeWeights(weights, encoding) {
  const entries = [];
  const chunks = [];
  for (const w of weights) {
    const entry = { name: w.name, shape: w.shape, dtype: w.dtype };
    let bytes;
    if (w.dtype !== 'float32' || encoding === 'float32') {
      bytes = Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength);
    } else if (encoding === 'float16') {
      const h = Uint16Array.from(w.data, f32ToF16Bits);
      bytes = Buffer.from(h.buffer);
      entry.quantization = { dtype: 'float16', original_dtype: 'float32' };
    } else if (encoding === 'uint8' || encoding === 'uint16') {
      const { q, min, scale } = quantizeAffine(w.data, encoding === 'uint8' ? 255 : 65535);
      bytes = Buffer.from(q.buffer);
      entry.quantization = { dtype: encoding, min, scale, original_dtype: 'float32' };
    } else {
      throw new Error('unknown encoding ' + encoding);
    }
    entries.push(entry);
    chunks.push(bytes);
  }
  return { entries, bytes: Buffer.concat(chunks) };
}

// Writes DIR/model.json (`json` plus a one-group weightsManifest) and the
// shards group1-shard<i>of<n>.bin of at most shardBytes bytes each, as
// tfjs-converter's write_weights does. Removes stale shards first.
function writeModelDir(dir, json, weights, { encoding = 'float32', shardBytes = 4 * 1024 * 1024 } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) {
    if (/^group\d+-shard\d+of\d+(\.bin)?$/.test(f)) fs.unlinkSync(path.join(dir, f));
  }
  const { entries, bytes } = encodeWeights(weights, encoding);
  const n = Math.max(1, Math.ceil(bytes.length / shardBytes));
  const paths = [];
  for (let i = 0; i < n; i++) {
    const name = `group1-shard${i + 1}of${n}.bin`;
    fs.writeFileSync(path.join(dir, name), bytes.subarray(i * shardBytes, (i + 1) * shardBytes));
    paths.push(name);
  }
  const out = { ...json, weightsManifest: [{ paths, weights: entries }] };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(out, null, 1) + '\n');
}

// --------------------------------------------------------- layers models

// Fills every weight (trainable or not) of a layers model from `rng` with
// values that keep activations O(1): kernels ~ U(-a, a), a = 1.5/sqrt(fan_in),
// BatchNorm statistics deliberately far from identity.
function fillWeights(model, seed) {
  const rng = makeRng(seed);
  const values = model.weights.map((w) => {
    const shape = w.shape;
    const n = prod(shape);
    const name = w.originalName || w.name;
    if (/moving_variance$/.test(name)) return tf.tensor(uniform(rng, n, 0.3, 2.0), shape);
    if (/moving_mean$/.test(name)) return tf.tensor(uniform(rng, n, -0.6, 0.6), shape);
    if (/gamma$/.test(name)) return tf.tensor(uniform(rng, n, 0.5, 1.5), shape);
    if (/(beta|bias)$/.test(name)) return tf.tensor(uniform(rng, n, -0.3, 0.3), shape);
    // kernel [.., in, out] / depthwise_kernel [kh, kw, in, mult]
    const fanIn = /depthwise_kernel$/.test(name) ? shape[0] * shape[1] : n / shape[shape.length - 1];
    // Softmax heads get wider weights so their outputs are far from uniform
    // (a near-uniform softmax hides errors upstream).
    const a = (/^(head_dense|head_out|logits|dense_softmax)\//.test(name) ? 6 : 1.5) / Math.sqrt(fanIn);
    return tf.tensor(uniform(rng, n, -a, a), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

// Saves a layers model through tf.io.withSaveHandler and returns the
// model.json fields (without manifest) and the float32 weights.
async function captureLayers(model) {
  let art = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    art = a;
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  const all = new Uint8Array(art.weightData);
  let off = 0;
  const weights = art.weightSpecs.map((s) => {
    if (s.dtype !== 'float32') throw new Error(`unexpected weight dtype ${s.dtype}`);
    const n = prod(s.shape);
    const data = new Float32Array(all.slice(off, off + 4 * n).buffer);
    off += 4 * n;
    return { name: s.name, shape: s.shape, dtype: s.dtype, data };
  });
  patchSeparableDepthMultiplier(art.modelTopology, model);
  const json = {
    format: art.format, // 'layers-model'
    generatedBy: art.generatedBy,
    convertedBy: art.convertedBy === undefined ? null : art.convertedBy,
    modelTopology: art.modelTopology,
  };
  return { json, weights };
}

// TF.js 4.22 quirk: SeparableConv2D.getConfig() omits depth_multiplier, so
// a saved model reloads with multiplier 1 and its weights no longer fit.
// Write it back the way Keras serializes it (TF.js's fromConfig reads it).
function patchSeparableDepthMultiplier(topology, model) {
  const byName = new Map();
  const collect = (m) => m.layers.forEach((l) => { byName.set(l.name, l); if (l.layers) collect(l); });
  collect(model);
  const walk = (cfg) => {
    for (const l of cfg.layers || []) {
      if (l.class_name === 'SeparableConv2D') l.config.depth_multiplier = byName.get(l.config.name).depthMultiplier;
      if (l.config && l.config.layers) walk(l.config);
    }
  };
  walk(topology.config);
}

const L = () => tf.layers;
const flat = (name, x) => L().flatten({ name }).apply(x);

// Convolutions: strides, same/valid padding (even input: TF puts the extra
// SAME pad at bottom/right), dilation, bias/no bias, non-square kernels,
// every activation TF.js serializes, DepthwiseConv2D (multiplier 2),
// SeparableConv2D. All branches flattened and concatenated into the output.
function buildLayersConv() {
  const x = tf.input({ shape: [16, 16, 3], name: 'input' });
  const c1 = L().conv2d({ name: 'c1_s2_same_relu', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(x);
  const outs = [
    L().conv2d({ name: 'c2_dil2_valid_nobias', filters: 4, kernelSize: 3, dilationRate: 2, padding: 'valid', useBias: false, activation: 'linear' }).apply(c1),
    L().conv2d({ name: 'c3_k5_s2_same_sigmoid', filters: 4, kernelSize: 5, strides: 2, padding: 'same', activation: 'sigmoid' }).apply(c1),
    L().conv2d({ name: 'c4_k1x3_s1x2_tanh', filters: 4, kernelSize: [1, 3], strides: [1, 2], padding: 'same', activation: 'tanh' }).apply(c1),
    L().conv2d({ name: 'c5_1x1_swish', filters: 4, kernelSize: 1, activation: 'swish' }).apply(c1),
    L().conv2d({ name: 'c6_s2_valid_relu6', filters: 4, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu6' }).apply(x),
    L().conv2d({ name: 'c7_1x1_softmax', filters: 5, kernelSize: 1, activation: 'softmax' }).apply(c1),
    L().conv2d({ name: 'c8_hard_sigmoid', filters: 4, kernelSize: 3, padding: 'same', activation: 'hardSigmoid' }).apply(c1),
    L().depthwiseConv2d({ name: 'dw1_mult2_same_relu', kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu' }).apply(c1),
    L().depthwiseConv2d({ name: 'dw2_s2_valid_nobias', kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(c1),
    L().separableConv2d({ name: 'sep1_same_relu', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(c1),
    L().separableConv2d({ name: 'sep2_s2_valid_mult2', filters: 4, kernelSize: 3, strides: 2, padding: 'valid', depthMultiplier: 2 }).apply(c1),
  ];
  const y = L().concatenate({ name: 'out' }).apply(outs.map((o, i) => flat(`flat${i}`, o)));
  return tf.model({ inputs: x, outputs: y, name: 'layers_conv' });
}

// Normalization and activation layers: BatchNormalization (default, and
// scale=false with epsilon 0.01, and on a Dense output), ReLU (plain and
// max_value 6), Activation layers, ZeroPadding2D with asymmetric padding.
function buildLayersNorm() {
  const x = tf.input({ shape: [12, 12, 4], name: 'input' });
  const pad = L().zeroPadding2d({ name: 'pad_t1b2_l0r3', padding: [[1, 2], [0, 3]] }).apply(x); // 15x15
  const c = L().conv2d({ name: 'conv', filters: 6, kernelSize: 3, strides: 2, useBias: false }).apply(pad); // 7x7
  const bn = L().batchNormalization({ name: 'bn' }).apply(c);
  const r6 = L().reLU({ name: 'relu6_layer', maxValue: 6 }).apply(bn);
  const bn2 = L().batchNormalization({ name: 'bn_noscale_eps', scale: false, epsilon: 0.01 }).apply(r6);
  const r = L().reLU({ name: 'relu_layer' }).apply(bn2);
  const acts = ['relu6', 'sigmoid', 'tanh', 'swish', 'softmax', 'hardSigmoid', 'linear', 'relu'].map(
    (a) => L().activation({ name: `act_${a}`, activation: a }).apply(bn));
  const d = L().dense({ name: 'dense', units: 10 }).apply(flat('flat_r', r));
  const bnd = L().batchNormalization({ name: 'bn_dense' }).apply(d);
  const y = L().concatenate({ name: 'out' }).apply([
    flat('flat_pad', pad), flat('flat_r6', r6), ...acts.map((a, i) => flat(`flat_act${i}`, a)), bnd]);
  return tf.model({ inputs: x, outputs: y, name: 'layers_norm' });
}

// Pooling on an odd-sized input (SAME stride 2 pads 1/1 here, 0/1 on the
// even 8x8 map after it): max/avg, same/valid, strides, non-square pool,
// AveragePooling2D SAME (TF excludes padding from the average), global avg.
function buildLayersPool() {
  const x = tf.input({ shape: [15, 15, 4], name: 'input' });
  const mp2 = L().maxPooling2d({ name: 'mp_3_s2_same', poolSize: 3, strides: 2, padding: 'same' }).apply(x); // 8x8
  const outs = [
    L().maxPooling2d({ name: 'mp_2_valid', poolSize: 2, padding: 'valid' }).apply(x), // 7x7
    mp2,
    L().averagePooling2d({ name: 'ap_3_s1_same', poolSize: 3, strides: 1, padding: 'same' }).apply(x), // 15x15
    L().averagePooling2d({ name: 'ap_2_valid', poolSize: 2, padding: 'valid' }).apply(x), // 7x7
    L().averagePooling2d({ name: 'ap_3_s2_same_even', poolSize: 3, strides: 2, padding: 'same' }).apply(mp2), // 4x4
    L().averagePooling2d({ name: 'ap_3x2_s2x1_valid', poolSize: [3, 2], strides: [2, 1], padding: 'valid' }).apply(x), // 7x14
    L().maxPooling2d({ name: 'mp_2_s1_same', poolSize: 2, strides: 1, padding: 'same' }).apply(mp2), // 8x8
  ];
  const gap = L().globalAveragePooling2d({ name: 'gap' }).apply(x);
  const y = L().concatenate({ name: 'out' }).apply([...outs.map((o, i) => flat(`flat${i}`, o)), gap]);
  return tf.model({ inputs: x, outputs: y, name: 'layers_pool' });
}

// Merges and shape layers: Add (2 and 3 inputs), Concatenate on channels and
// on width, Reshape (4-D re-tiling that a non-NHWC engine gets wrong, and -1),
// Flatten, Dense with several activations, Dropout (identity at inference).
// The 3-input Add feeds the output directly.
function buildLayersMerge() {
  const x = tf.input({ shape: [8, 8, 4], name: 'input' });
  const a = L().conv2d({ name: 'conv_a', filters: 4, kernelSize: 1 }).apply(x);
  const s = L().add({ name: 'add2' }).apply([x, a]);
  const cc = L().concatenate({ name: 'concat_c' }).apply([s, x]); // 8x8x8
  const cw = L().concatenate({ name: 'concat_w', axis: 2 }).apply([s, x]); // 8x16x4
  const r = L().reshape({ name: 'reshape_4x16x8', targetShape: [4, 16, 8] }).apply(cc);
  const rc = L().conv2d({ name: 'conv_r', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(r);
  const f = flat('flat_rc', rc); // 256
  const d1 = L().dense({ name: 'dense_relu', units: 16, activation: 'relu' }).apply(f);
  const dr = L().dropout({ name: 'dropout', rate: 0.5 }).apply(d1);
  const d2 = L().dense({ name: 'dense_tanh', units: 8, activation: 'tanh' }).apply(dr);
  const d3 = L().dense({ name: 'dense_linear', units: 8 }).apply(dr);
  const d4 = L().dense({ name: 'dense_sigmoid_nobias', units: 8, activation: 'sigmoid', useBias: false }).apply(f);
  const s3 = L().add({ name: 'add3' }).apply([d2, d3, d4]);
  // TF.js does not infer a -1 dim statically ([-1, 4, 8] -> [null, null, 4, 8]),
  // so Flatten cannot follow; a conv and global pooling can.
  const r2 = L().reshape({ name: 'reshape_m1x4x8', targetShape: [-1, 4, 8] }).apply(s); // 8x4x8
  const g2 = L().globalAveragePooling2d({ name: 'gap_r2' }).apply(
    L().conv2d({ name: 'conv_r2', filters: 4, kernelSize: 3, padding: 'same' }).apply(r2));
  const y = L().concatenate({ name: 'out' }).apply([flat('flat_cw', cw), g2, s3,
    L().dense({ name: 'dense_softmax', units: 5, activation: 'softmax' }).apply(s3)]);
  return tf.model({ inputs: x, outputs: y, name: 'layers_merge' });
}

// A Sequential whose first layer is a functional model: the shape of a Keras
// transfer-learning export (Sequential([MobileNetV2(include_top=False), GAP,
// Dense, Dropout, Dense])). The nested class_name is rewritten from TF.js's
// "Model" to Keras 2.4+'s "Functional" (TF.js loads both).
function buildSeqWrapsFunctional() {
  const x = tf.input({ shape: [16, 16, 3], name: 'base_input' });
  let h = L().conv2d({ name: 'base_conv1', filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(x);
  h = L().batchNormalization({ name: 'base_conv1_bn' }).apply(h);
  h = L().reLU({ name: 'base_conv1_relu', maxValue: 6 }).apply(h);
  h = L().depthwiseConv2d({ name: 'base_dw', kernelSize: 3, padding: 'same', useBias: false }).apply(h);
  h = L().batchNormalization({ name: 'base_dw_bn' }).apply(h);
  h = L().reLU({ name: 'base_dw_relu', maxValue: 6 }).apply(h);
  h = L().conv2d({ name: 'base_project', filters: 16, kernelSize: 1, useBias: false }).apply(h);
  h = L().batchNormalization({ name: 'base_project_bn' }).apply(h);
  const base = tf.model({ inputs: x, outputs: h, name: 'base' });
  return tf.sequential({
    name: 'seq_wraps_functional',
    layers: [
      base,
      L().globalAveragePooling2d({ name: 'gap' }),
      L().dense({ name: 'head_dense', units: 12, activation: 'relu' }),
      L().dropout({ name: 'head_dropout', rate: 0.2 }),
      L().dense({ name: 'head_out', units: 5, activation: 'softmax' }),
    ],
  });
}
function rewriteNestedFunctional(json) {
  for (const l of json.modelTopology.config.layers) if (l.class_name === 'Model') l.class_name = 'Functional';
  return json;
}

// A plain Sequential (no InputLayer entry: batch_input_shape sits on the
// first layer's config), MNIST-like single channel input.
function buildSequentialPlain() {
  return tf.sequential({
    name: 'sequential_plain',
    layers: [
      L().conv2d({ name: 'conv1', inputShape: [12, 12, 1], filters: 6, kernelSize: 3, activation: 'relu' }), // 10x10
      L().maxPooling2d({ name: 'pool1', poolSize: 2 }), // 5x5
      L().conv2d({ name: 'conv2', filters: 8, kernelSize: 3, activation: 'relu' }), // 3x3
      L().flatten({ name: 'flatten' }),
      L().dense({ name: 'logits', units: 10, activation: 'softmax' }),
    ],
  });
}

// The small model that the weights_* fixtures store in different encodings.
function buildWeightsModel() {
  const x = tf.input({ shape: [8, 8, 3], name: 'input' });
  let h = L().conv2d({ name: 'conv', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
  h = L().batchNormalization({ name: 'bn' }).apply(h);
  h = L().depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', activation: 'relu6' }).apply(h);
  const f = flat('flat', L().averagePooling2d({ name: 'pool', poolSize: 2 }).apply(h)); // 4*4*6
  const d = L().dense({ name: 'dense', units: 5 }).apply(L().globalAveragePooling2d({ name: 'gap' }).apply(h));
  const y = L().concatenate({ name: 'out' }).apply([f, d]);
  return tf.model({ inputs: x, outputs: y, name: 'weights_model' });
}

// What `morsel convert --keep-weights compact` keeps compact through the
// passes: Conv2D without activation + BatchNormalization + ReLU (the BN folds
// into the conv), DepthwiseConv2D (multiplier 1) + BN + ReLU(6), a 1x1 conv +
// BN with nothing after it, a DepthwiseConv2D with multiplier 2 + BN (its
// channels span two axes, so the fold expands that one kernel to f32), then
// GlobalAveragePooling2D, Dense (kept compact, bias too) and a softmax Dense.
function buildCompactModel() {
  const x = tf.input({ shape: [10, 10, 3], name: 'input' });
  let h = L().conv2d({ name: 'conv', filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(x);
  h = L().batchNormalization({ name: 'conv_bn' }).apply(h);
  h = L().reLU({ name: 'conv_relu' }).apply(h);
  h = L().depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', useBias: false }).apply(h);
  h = L().batchNormalization({ name: 'dw_bn' }).apply(h);
  h = L().reLU({ name: 'dw_relu6', maxValue: 6 }).apply(h);
  h = L().conv2d({ name: 'project', filters: 6, kernelSize: 1 }).apply(h);
  h = L().batchNormalization({ name: 'project_bn' }).apply(h);
  h = L().depthwiseConv2d({ name: 'dw_mult2', kernelSize: 3, depthMultiplier: 2, padding: 'valid' }).apply(h);
  h = L().batchNormalization({ name: 'dw_mult2_bn' }).apply(h);
  h = L().globalAveragePooling2d({ name: 'gap' }).apply(h);
  h = L().dense({ name: 'dense', units: 7, activation: 'relu' }).apply(h);
  const y = L().dense({ name: 'dense_softmax', units: 4, activation: 'softmax' }).apply(h);
  return tf.model({ inputs: x, outputs: y, name: 'compact_model' });
}

// ---------------------------------------------------------- graph models

const b64 = (s) => Buffer.from(s, 'latin1').toString('base64');
const A = {
  T: { type: 'DT_FLOAT' },
  type: (t) => ({ type: t }),
  s: (str) => ({ s: b64(str) }),
  i: (n) => ({ i: String(n) }),
  f: (x) => ({ f: x }),
  b: (v) => ({ b: v }),
  ints: (xs) => ({ list: { i: xs.map(String) } }),
  strs: (xs) => ({ list: { s: xs.map(b64) } }),
};
const tensorShape = (shape) => (shape.length ? { dim: shape.map((d) => ({ size: String(d) })) } : {});
const DT = { float32: 'DT_FLOAT', int32: 'DT_INT32' };

// Builds a GraphDef in the JSON layout the tfjs-converter writes: attrs as
// {type}/{s: base64}/{i: "n"}/{list: {...}}, Const values referenced by name
// from the weights manifest, int64 fields as strings.
class Graph {
  constructor({ controlInputs = false } = {}) {
    this.nodes = [];
    this.weights = [];
    this.controlInputs = controlInputs; // Consts get ["^input"] like converter 1.x output
    this.inputName = null;
  }
  placeholder(name, shape) {
    this.inputName = name;
    this.inputShape = shape;
    this.nodes.push({ name, op: 'Placeholder', attr: { shape: { shape: tensorShape(shape) }, dtype: A.T } });
    return name;
  }
  constant(name, shape, data) {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    if (prod(shape) !== data.length) throw new Error(`Const ${name}: shape/data mismatch`);
    const node = { name, op: 'Const', attr: { value: { tensor: { dtype: DT[dtype], tensorShape: tensorShape(shape) } }, dtype: A.type(DT[dtype]) } };
    if (this.controlInputs && this.inputName) node.input = ['^' + this.inputName];
    this.nodes.push(node);
    this.weights.push({ name, shape, dtype, data });
    return name;
  }
  // Seeded float Const: U(-a, a), a = scale/sqrt(fanIn).
  param(name, shape, rng, { fanIn = 1, scale = 1.5, lo, hi } = {}) {
    const a = scale / Math.sqrt(fanIn);
    return this.constant(name, shape, uniform(rng, prod(shape), lo === undefined ? -a : lo, hi === undefined ? a : hi));
  }
  ints(name, values, shape = [values.length]) {
    return this.constant(name, shape, Int32Array.from(values));
  }
  op(name, op, input, attr = {}) {
    this.nodes.push({ name, op, input, attr });
    return name;
  }
  // model.json fields (without weightsManifest); `output` is the output node.
  json(output, outShape, { legacySignature = false } = {}) {
    const signature = {
      inputs: { [this.inputName + ':0']: { name: this.inputName + ':0', dtype: 'DT_FLOAT', tensorShape: tensorShape(this.inputShape) } },
      outputs: { [output + ':0']: { name: output + ':0', dtype: 'DT_FLOAT', tensorShape: tensorShape(outShape) } },
    };
    const json = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'morsel tests/data/tfjs/gen-fixtures.js (tfjs-converter layout)',
    };
    if (legacySignature) json.userDefinedMetadata = { signature }; // converter 1.x/2.x
    else json.signature = signature;
    json.modelTopology = { node: this.nodes, library: {}, versions: { producer: 1645 } };
    return json;
  }
}

const conv = (strides, padding, extra = {}) => ({
  T: A.T, data_format: A.s('NHWC'), strides: A.ints([1, strides, strides, 1]), padding: A.s(padding),
  dilations: A.ints([1, 1, 1, 1]), ...extra,
});
const fused = (ops) => ({ fused_ops: A.strs(ops), num_args: A.i(1), epsilon: A.f(0) });

// Conv pipeline in the shape of a converted MobileNetV2: Mul/Sub input
// scaling by scalar Consts, Pad with int32 paddings (0/1 like Keras
// correct_pad), Conv2D + BiasAdd + Relu, _FusedConv2D with [BiasAdd],
// [BiasAdd, Relu], [BiasAdd, Relu6], DepthwiseConv2dNative (multiplier 2),
// FusedDepthwiseConv2dNative, Relu6, AddV2 residual, Mean over [1,2],
// _FusedMatMul, Softmax, Identity. Consts carry "^input" control inputs and
// the signature sits in userDefinedMetadata, as in nsfwjs's mobilenet_v2_mid.
function buildGraphConv() {
  const rng = makeRng(1001);
  const g = new Graph({ controlInputs: true });
  const x = g.placeholder('input', [-1, 16, 16, 3]);
  const mul = g.op('hub_input/Mul', 'Mul', [g.constant('hub_input/Mul/y', [], Float32Array.of(2)), x], { T: A.T });
  const sub = g.op('hub_input/Sub', 'Sub', [mul, g.constant('hub_input/Sub/y', [], Float32Array.of(1))], { T: A.T });
  const pad = g.op('Pad', 'Pad', [sub, g.ints('Pad/paddings', [0, 0, 0, 1, 0, 1, 0, 0], [4, 2])], { T: A.T, Tpaddings: A.type('DT_INT32') }); // 17x17
  let h = g.op('conv1/Conv2D', 'Conv2D', [pad, g.param('conv1/weights', [3, 3, 3, 8], rng, { fanIn: 27 })], conv(2, 'VALID', { use_cudnn_on_gpu: A.b(true), explicit_paddings: { list: {} } })); // 8x8x8
  h = g.op('conv1/BiasAdd', 'BiasAdd', [h, g.param('conv1/bias', [8], rng, { lo: -0.3, hi: 0.3 })], { T: A.T, data_format: A.s('NHWC') });
  h = g.op('conv1/Relu', 'Relu', [h], { T: A.T });
  h = g.op('conv2/Relu6', '_FusedConv2D', [h, g.param('conv2/weights', [3, 3, 8, 8], rng, { fanIn: 72 }), g.param('conv2/bias', [8], rng, { lo: -0.3, hi: 0.3 })],
    conv(1, 'SAME', fused(['BiasAdd', 'Relu6'])));
  h = g.op('dw1/depthwise', 'DepthwiseConv2dNative', [h, g.param('dw1/weights', [3, 3, 8, 2], rng, { fanIn: 9 })], conv(2, 'SAME')); // 4x4x16
  const r6 = g.op('dw1/Relu6', 'Relu6', [h], { T: A.T });
  h = g.op('dw2/Relu6', 'FusedDepthwiseConv2dNative', [r6, g.param('dw2/weights', [3, 3, 16, 1], rng, { fanIn: 9 }), g.param('dw2/bias', [16], rng, { lo: -0.3, hi: 0.3 })],
    conv(1, 'SAME', fused(['BiasAdd', 'Relu6'])));
  h = g.op('project/BiasAdd', '_FusedConv2D', [h, g.param('project/weights', [1, 1, 16, 16], rng, { fanIn: 16 }), g.param('project/bias', [16], rng, { lo: -0.3, hi: 0.3 })],
    conv(1, 'SAME', fused(['BiasAdd'])));
  h = g.op('add', 'AddV2', [h, r6], { T: A.T });
  h = g.op('expand/Relu', '_FusedConv2D', [h, g.param('expand/weights', [1, 1, 16, 12], rng, { fanIn: 16 }), g.param('expand/bias', [12], rng, { lo: -0.3, hi: 0.3 })],
    conv(1, 'VALID', fused(['BiasAdd', 'Relu'])));
  h = g.op('pool/Mean', 'Mean', [h, g.ints('pool/Mean/reduction_indices', [1, 2])], { T: A.T, Tidx: A.type('DT_INT32'), keep_dims: A.b(false) }); // [N,12]
  h = g.op('logits/BiasAdd', '_FusedMatMul', [h, g.param('logits/weights', [12, 5], rng, { fanIn: 12, scale: 3 }), g.param('logits/bias', [5], rng, { lo: -0.3, hi: 0.3 })],
    { T: A.T, transpose_a: A.b(false), transpose_b: A.b(false), ...fused(['BiasAdd']) });
  h = g.op('Softmax', 'Softmax', [h], { T: A.T });
  g.op('Identity', 'Identity', [h], { T: A.T });
  return { json: g.json('Identity', [-1, 5], { legacySignature: true }), weights: g.weights, inputShape: [2, 16, 16, 3] };
}

// Pooling, shape and matmul ops: MaxPool/AvgPool SAME and VALID (AvgPool
// SAME excludes padding), ConcatV2 with axis Consts 3 and -1, Add (legacy
// op) with a broadcast vector, Sub, Mul, Relu, Mean keep_dims=true, Squeeze,
// Reshape with an int32 shape holding -1, MatMul transpose_b false/true,
// _FusedMatMul transpose_b true/false. Output: raw logits (no softmax).
function buildGraphOps() {
  const rng = makeRng(2002);
  const g = new Graph();
  const x = g.placeholder('input', [-1, 12, 12, 4]);
  const pool = (name, op, k, s, padding, inp) => g.op(name, op, [inp],
    { T: A.T, data_format: A.s('NHWC'), ksize: A.ints([1, k, k, 1]), strides: A.ints([1, s, s, 1]), padding: A.s(padding) });
  const mp = pool('MaxPool', 'MaxPool', 3, 2, 'SAME', x); // 6x6x4
  const apv = pool('AvgPool_valid', 'AvgPool', 2, 2, 'VALID', x); // 6x6x4
  const aps = pool('AvgPool_same', 'AvgPool', 3, 1, 'SAME', x); // 12x12x4
  let c = g.op('concat', 'ConcatV2', [mp, apv, g.ints('concat/axis', [3], [])], { T: A.T, N: A.i(2), Tidx: A.type('DT_INT32') }); // 6x6x8
  c = g.op('add_bias', 'Add', [c, g.param('add_bias/b', [8], rng, { lo: -0.5, hi: 0.5 })], { T: A.T });
  c = g.op('sub_shift', 'Sub', [c, g.param('sub_shift/b', [8], rng, { lo: -0.5, hi: 0.5 })], { T: A.T });
  c = g.op('mul_scale', 'Mul', [c, g.param('mul_scale/b', [8], rng, { lo: 0.5, hi: 2 })], { T: A.T });
  c = g.op('relu', 'Relu', [c], { T: A.T });
  const flatC = g.op('flatten', 'Reshape', [c, g.ints('flatten/shape', [-1, 288])], { T: A.T, Tshape: A.type('DT_INT32') }); // [N,288]
  const mm1 = g.op('mm_nt', 'MatMul', [flatC, g.param('mm_nt/w', [288, 6], rng, { fanIn: 288 })], { T: A.T, transpose_a: A.b(false), transpose_b: A.b(false) });
  const mean = g.op('Mean_keep', 'Mean', [aps, g.ints('Mean_keep/axes', [1, 2])], { T: A.T, Tidx: A.type('DT_INT32'), keep_dims: A.b(true) }); // [N,1,1,4]
  const sq = g.op('Squeeze', 'Squeeze', [mean], { T: A.T, squeeze_dims: A.ints([1, 2]) }); // [N,4]
  const mm2 = g.op('mm_t', 'MatMul', [sq, g.param('mm_t/w', [6, 4], rng, { fanIn: 4 })], { T: A.T, transpose_a: A.b(false), transpose_b: A.b(true) }); // [N,6]
  const cat = g.op('concat2', 'ConcatV2', [mm1, mm2, g.ints('concat2/axis', [-1], [])], { T: A.T, N: A.i(2), Tidx: A.type('DT_INT32') }); // [N,12]
  let h = g.op('fc1', '_FusedMatMul', [cat, g.param('fc1/w', [7, 12], rng, { fanIn: 12 }), g.param('fc1/b', [7], rng, { lo: -0.3, hi: 0.3 })],
    { T: A.T, transpose_a: A.b(false), transpose_b: A.b(true), ...fused(['BiasAdd']) });
  h = g.op('fc2', '_FusedMatMul', [h, g.param('fc2/w', [7, 5], rng, { fanIn: 7 }), g.param('fc2/b', [5], rng, { lo: -0.3, hi: 0.3 })],
    { T: A.T, transpose_a: A.b(false), transpose_b: A.b(false), ...fused(['BiasAdd']) });
  g.op('Identity', 'Identity', [h], { T: A.T });
  return { json: g.json('Identity', [-1, 5]), weights: g.weights, inputShape: [2, 12, 12, 4] };
}

// ------------------------------------------------------------- fixtures

// kind 'layers': build() returns a tf.LayersModel; kind 'graph': {json, weights, inputShape}.
const FIXTURES = {
  layers_conv: { kind: 'layers', build: buildLayersConv, seed: 11, inputShape: [2, 16, 16, 3] },
  layers_norm: { kind: 'layers', build: buildLayersNorm, seed: 12, inputShape: [2, 12, 12, 4] },
  layers_pool: { kind: 'layers', build: buildLayersPool, seed: 13, inputShape: [2, 15, 15, 4] },
  layers_merge: { kind: 'layers', build: buildLayersMerge, seed: 14, inputShape: [2, 8, 8, 4] },
  seq_wraps_functional: { kind: 'layers', build: buildSeqWrapsFunctional, seed: 15, inputShape: [2, 16, 16, 3], rewrite: rewriteNestedFunctional },
  sequential_plain: { kind: 'layers', build: buildSequentialPlain, seed: 16, inputShape: [2, 12, 12, 1], inputRange: [0, 1] },
  // One model, four encodings. 300-byte shards: not a multiple of 4, so
  // float32 values themselves straddle shard files.
  weights_f32_sharded: { kind: 'layers', build: buildWeightsModel, seed: 17, inputShape: [2, 8, 8, 3], encoding: 'float32', shardBytes: 300 },
  weights_f16: { kind: 'layers', build: buildWeightsModel, seed: 17, inputShape: [2, 8, 8, 3], encoding: 'float16' },
  weights_u8: { kind: 'layers', build: buildWeightsModel, seed: 17, inputShape: [2, 8, 8, 3], encoding: 'uint8' },
  weights_u16: { kind: 'layers', build: buildWeightsModel, seed: 17, inputShape: [2, 8, 8, 3], encoding: 'uint16', shardBytes: 333 },
  // `--keep-weights compact`: BatchNorm folds into uint8/uint16/float16 kernels.
  compact_u8: { kind: 'layers', build: buildCompactModel, seed: 18, inputShape: [2, 10, 10, 3], encoding: 'uint8' },
  compact_u16: { kind: 'layers', build: buildCompactModel, seed: 18, inputShape: [2, 10, 10, 3], encoding: 'uint16' },
  compact_f16: { kind: 'layers', build: buildCompactModel, seed: 18, inputShape: [2, 10, 10, 3], encoding: 'float16' },
  graph_conv: { kind: 'graph', build: buildGraphConv, seed: 21 },
  graph_ops: { kind: 'graph', build: buildGraphOps, seed: 22 },
  // graph_conv as `tensorflowjs_converter --quantize_uint8` writes it:
  // float Consts uint8-quantized, int32 Consts (paddings, axes) left raw.
  graph_conv_u8: { kind: 'graph', build: buildGraphConv, seed: 21, encoding: 'uint8' },
};

async function generate(name, fx) {
  const dir = path.join(OUT_ROOT, name);
  let json;
  let weights;
  let inputShape = fx.inputShape;
  if (fx.kind === 'layers') {
    const model = fx.build();
    fillWeights(model, fx.seed);
    ({ json, weights } = await captureLayers(model));
    if (fx.rewrite) json = fx.rewrite(json);
    model.dispose();
  } else {
    ({ json, weights, inputShape } = fx.build());
  }
  writeModelDir(dir, json, weights, { encoding: fx.encoding, shardBytes: fx.shardBytes });

  const [lo, hi] = fx.inputRange || [-1, 1];
  const input = uniform(makeRng(fx.seed * 7919), prod(inputShape), lo, hi);
  npy.write(path.join(dir, 'input.npy'), input, inputShape);

  // Goldens: TF.js reloads the files just written and predicts.
  const { model } = await loadModel(dir);
  const { outputs } = predictNpy(model, path.join(dir, 'input.npy'));
  if (outputs.length !== 1) throw new Error(`${name}: expected one output, got ${outputs.length}`);
  npy.write(path.join(dir, 'expected.npy'), outputs[0].data, outputs[0].shape);
  model.dispose();

  const size = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  console.log(`${name.padEnd(22)} input [${inputShape}] -> expected [${outputs[0].shape}], ${(size / 1024).toFixed(1)} KiB`);
  return size;
}

async function main() {
  tf = await initTf();
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(FIXTURES);
  let total = 0;
  for (const name of names) {
    if (!FIXTURES[name]) throw new Error(`unknown fixture ${name}; known: ${Object.keys(FIXTURES).join(' ')}`);
    total += await generate(name, FIXTURES[name]);
  }
  console.log(`total ${(total / 1024).toFixed(1)} KiB in ${OUT_ROOT}`);
}

main().catch((e) => {
  console.error('gen-fixtures: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
