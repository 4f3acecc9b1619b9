/// <reference types="vitest/config" />
// Builds the web app into dist/. "@morsel/wasm" is the engine's TypeScript wrapper
// (wasm/js/morsel.ts; tsconfig.json maps the same name for the type check).
// After the bundle is written, dist/sw.js is made from src/sw/sw.js with the list of files to
// precache and a version that changes whenever any of them does.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const engineModule = resolve(here, '../wasm/js/morsel.ts');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

function serviceWorker(): Plugin {
  let outDir = '';
  return {
    name: 'morsel-service-worker',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const files = listFiles(outDir)
        .map((p) => relative(outDir, p).split('\\').join('/'))
        .filter((f) => f !== 'sw.js' && !f.endsWith('.map'))
        .sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f).update(readFileSync(join(outDir, f)));
      const template = readFileSync(resolve(here, 'src/sw/sw.js'), 'utf8');
      const sw = template
        .replace('self.__MORSEL_PRECACHE__', JSON.stringify(['./', ...files.filter((f) => f !== 'index.html')], null, 1))
        .replace('self.__MORSEL_VERSION__', JSON.stringify(hash.digest('hex').slice(0, 16)));
      writeFileSync(join(outDir, 'sw.js'), sw);
    },
  };
}

const server = process.env.MORSEL_SERVER ?? 'http://127.0.0.1:8080';
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  base: './',
  resolve: { alias: { '@morsel/wasm': engineModule } },
  esbuild: { jsx: 'automatic', jsxImportSource: 'react' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  worker: { format: 'es' },
  plugins: [serviceWorker()],
  server: {
    headers: isolation,
    proxy: { '/api': server, '/v1': server, '/v2': server },
    fs: { allow: [resolve(here, '..')] },
  },
  preview: { headers: isolation },
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
  },
});
