#!/usr/bin/env node
// Extracts the TF.js models bundled in the npm package `nsfwjs` into plain
// TF.js model directories that any TF.js loader (and morsel's importer) reads:
//
//   node scripts/extract-nsfwjs.js [OUT_DIR=models/nsfwjs]
//
// writes OUT_DIR/<model>/model.json (weightsManifest paths rewritten to
// "<shard>.bin"), OUT_DIR/<model>/<shard>.bin and OUT_DIR/<model>/labels.txt
// (one label per line, class-index order). nsfwjs ships each model as JS
// modules: model.min.js exports the model.json object and
// group1-shardXofY.min.js exports the shard bytes as a base64 string.
// Re-running rewrites the same bytes (idempotent). To add a model, add its
// directory name to MODELS.
'use strict';

const fs = require('fs');
const path = require('path');

const MODELS = ['mobilenet_v2', 'inception_v3', 'mobilenet_v2_mid'];
const REPO_ROOT = path.resolve(__dirname, '..');

function fail(msg) {
  console.error('extract-nsfwjs: ' + msg);
  process.exit(1);
}

// Returns nsfwjs's dist/ directory. The package's "exports" map hides its
// files, so resolve the main entry (dist/cjs/index.js) and walk up from it.
function findNsfwjsDist() {
  let main;
  try {
    main = require.resolve('nsfwjs', { paths: [REPO_ROOT, process.cwd()] });
  } catch (e) {
    fail('the npm package "nsfwjs" is not installed. Run `npm install --no-audit --no-fund` ' +
      `in ${REPO_ROOT} (it is listed in package.json), then re-run this script.`);
  }
  const dist = path.resolve(path.dirname(main), '..');
  if (!fs.existsSync(path.join(dist, 'models'))) {
    fail(`nsfwjs at ${dist} has no models/ directory; is it the expected version (see package.json)?`);
  }
  return dist;
}

// require() of a bundled module by absolute path; the UMD wrapper assigns
// module.exports when `module` exists.
function requireBundled(file) {
  if (!fs.existsSync(file)) fail(`missing file ${file}`);
  const m = require(file);
  return m && m.default !== undefined ? m.default : m;
}

// Writes `bytes` to `file` unless it already holds exactly those bytes.
function writeIfChanged(file, bytes) {
  if (fs.existsSync(file) && fs.readFileSync(file).equals(bytes)) {
    console.log(`  unchanged ${file} (${bytes.length} bytes)`);
    return;
  }
  fs.writeFileSync(file, bytes);
  console.log(`  wrote     ${file} (${bytes.length} bytes)`);
}

function labels(dist) {
  const m = requireBundled(path.join(dist, 'cjs', 'nsfw_classes.js'));
  const classes = m.NSFW_CLASSES;
  if (!classes) fail('nsfw_classes.js does not export NSFW_CLASSES');
  const n = Object.keys(classes).length;
  const out = [];
  for (let i = 0; i < n; i++) {
    if (classes[i] === undefined) fail(`NSFW_CLASSES has no entry for class ${i}`);
    out.push(classes[i]);
  }
  return out;
}

function extractModel(dist, name, outRoot, labelLines) {
  const srcDir = path.join(dist, 'models', name);
  const outDir = path.join(outRoot, name);
  fs.mkdirSync(outDir, { recursive: true });
  console.log(`${name}:`);

  // Deep copy so that rewriting paths does not touch the cached module.
  const modelJson = JSON.parse(JSON.stringify(requireBundled(path.join(srcDir, 'model.min.js'))));
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    fail(`${srcDir}/model.min.js does not export a model.json object`);
  }
  for (const group of modelJson.weightsManifest) {
    group.paths = group.paths.map((p) => {
      const shard = path.basename(p).replace(/\.bin$/, '');
      const b64 = requireBundled(path.join(srcDir, shard + '.min.js'));
      if (typeof b64 !== 'string') fail(`${srcDir}/${shard}.min.js does not export a base64 string`);
      writeIfChanged(path.join(outDir, shard + '.bin'), Buffer.from(b64, 'base64'));
      return shard + '.bin';
    });
  }
  writeIfChanged(path.join(outDir, 'model.json'), Buffer.from(JSON.stringify(modelJson, null, 1) + '\n'));
  writeIfChanged(path.join(outDir, 'labels.txt'), Buffer.from(labelLines.join('\n') + '\n'));
}

function main() {
  const outRoot = path.resolve(process.argv[2] || path.join(REPO_ROOT, 'models', 'nsfwjs'));
  const dist = findNsfwjsDist();
  const labelLines = labels(dist);
  for (const name of MODELS) extractModel(dist, name, outRoot, labelLines);
  console.log(`done: ${MODELS.length} models in ${outRoot}`);
}

main();
