#!/usr/bin/env node
// Writes the app icons into public/icons/: icon.svg and PNGs rasterized from the same shapes
// (scripts/icon-shapes.mjs) with 4x4 supersampling and the repo's small PNG encoder, so no
// image tool is needed.   node scripts/make-icons.mjs [OUT_DIR=public/icons]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../../scripts/lib/png.mjs';
import { COLORS, shapes, svg } from './icon-shapes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] ?? join(here, '..', 'public', 'icons'));


const inCircle = (x, y, c) => (x - c.cx) ** 2 + (y - c.cy) ** 2 <= c.r * c.r;
function inRoundedRect(x, y, radius) {
  if (x < 0 || y < 0 || x > 512 || y > 512) return false;
  const qx = Math.max(radius - x, x - (512 - radius), 0);
  const qy = Math.max(radius - y, y - (512 - radius), 0);
  return qx * qx + qy * qy <= radius * radius;
}

// Colour of one point (512-unit coordinates) as [r, g, b, a], painter's order like the SVG.
function sample(x, y, s, radius) {
  if (!inRoundedRect(x, y, radius)) return [0, 0, 0, 0];
  const t = y / 512;
  let col = COLORS.tileTop.map((v, i) => v + (COLORS.tileBottom[i] - v) * t);
  const bitten = s.bites.some((b) => inCircle(x, y, b));
  if (!bitten && inCircle(x, y, s.cookie)) {
    col = COLORS.cookieEdge;
    if (inCircle(x, y, { ...s.cookie, r: s.cookie.r - s.rim })) col = COLORS.cookie;
    if (s.chips.some((c) => inCircle(x, y, c))) col = COLORS.chip;
  }
  return [col[0], col[1], col[2], 255];
}

function rasterize(size, { rounded = true, scale = 1 } = {}) {
  const s = shapes(scale);
  const radius = rounded ? 112 : 0;
  const n = 4; // samples per axis
  const out = Buffer.alloc(size * size * 4);
  const unit = 512 / size;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const [cr, cg, cb, ca] = sample((px + (sx + 0.5) / n) * unit, (py + (sy + 0.5) / n) * unit, s, radius);
          r += cr * ca; g += cg * ca; b += cb * ca; a += ca;
        }
      }
      const o = (py * size + px) * 4;
      out[o] = a ? Math.round(r / a) : 0;
      out[o + 1] = a ? Math.round(g / a) : 0;
      out[o + 2] = a ? Math.round(b / a) : 0;
      out[o + 3] = Math.round(a / (n * n));
    }
  }
  return out;
}

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'icon.svg'), svg());
const outputs = [
  ['icon-192.png', 192, { rounded: true }],
  ['icon-512.png', 512, { rounded: true }],
  // Maskable: full-bleed tile, artwork inside the central 80% safe zone.
  ['maskable-512.png', 512, { rounded: false, scale: 0.78 }],
  ['apple-touch-icon.png', 180, { rounded: false, scale: 0.86 }],
  ['favicon-32.png', 32, { rounded: true }],
];
for (const [name, size, opts] of outputs) writeFileSync(join(outDir, name), encodePng(rasterize(size, opts), size, size, { level: 9 }));
console.log(`icons: wrote icon.svg and ${outputs.length} PNGs to ${outDir}`);
