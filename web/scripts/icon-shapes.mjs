// The app icon, described once: a cookie with a bite taken out on a teal tile. make-icons.mjs
// writes it as SVG (public/icon.svg) and rasterizes the same shapes to PNG. Units: a 512 x 512
// canvas; `scale` shrinks the cookie toward the centre (maskable icons keep a safe zone).

export const COLORS = {
  tileTop: [20, 184, 166],
  tileBottom: [15, 118, 110],
  cookie: [245, 185, 66],
  cookieEdge: [217, 145, 38],
  chip: [110, 62, 26],
};

export function shapes(scale = 1) {
  const c = (x) => 256 + (x - 256) * scale;
  const r = (v) => v * scale;
  return {
    cookie: { cx: 256, cy: 262, r: r(160) },
    rim: r(14),
    bites: [
      { cx: c(392), cy: c(140), r: r(62) },
      { cx: c(424), cy: c(214), r: r(44) },
    ],
    chips: [
      [200, 200, 20],
      [300, 250, 18],
      [190, 320, 17],
      [268, 352, 21],
      [345, 335, 15],
      [248, 170, 14],
    ].map(([x, y, rr]) => ({ cx: c(x), cy: c(y), r: r(rr) })),
  };
}

const rgb = (a) => `rgb(${a.join(',')})`;

export function svg({ rounded = true, scale = 1 } = {}) {
  const s = shapes(scale);
  const radius = rounded ? 112 : 0;
  const bites = s.bites.map((b) => `<circle cx="${b.cx}" cy="${b.cy}" r="${b.r}" fill="#000"/>`).join('');
  const chips = s.chips.map((b) => `<circle cx="${b.cx}" cy="${b.cy}" r="${b.r}" fill="${rgb(COLORS.chip)}"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">
<title>morsel</title>
<defs>
<linearGradient id="tile" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${rgb(COLORS.tileTop)}"/><stop offset="1" stop-color="${rgb(COLORS.tileBottom)}"/></linearGradient>
<mask id="bite"><rect width="512" height="512" fill="#fff"/>${bites}</mask>
</defs>
<rect width="512" height="512" rx="${radius}" fill="url(#tile)"/>
<g mask="url(#bite)">
<circle cx="${s.cookie.cx}" cy="${s.cookie.cy}" r="${s.cookie.r}" fill="${rgb(COLORS.cookieEdge)}"/>
<circle cx="${s.cookie.cx}" cy="${s.cookie.cy}" r="${s.cookie.r - s.rim}" fill="${rgb(COLORS.cookie)}"/>
${chips}
</g>
</svg>
`;
}
