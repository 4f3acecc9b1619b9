// Shared by the browser end-to-end tests and bench/web: finds the built pieces, converts a test
// model, starts `morsel serve --web web/dist` on a free port, and launches Debian's chromium
// through playwright-core (never a downloaded browser).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_DIST = join(REPO, 'web', 'dist');
export const ARTIFACTS = resolve(process.env.MORSEL_E2E_ARTIFACTS ?? join(REPO, 'build', 'e2e-artifacts'));
export const CHROMIUM = process.env.MORSEL_CHROMIUM ?? '/usr/bin/chromium';

// playwright-core is a dev dependency of web/ (installed by scripts/build-web's npm ci).
const requireFromWeb = createRequire(join(REPO, 'web', 'package.json'));
export const { chromium, devices } = requireFromWeb('playwright-core');

/** The morsel CLI: $MORSEL_BIN, else the release build. */
export function morselBin() {
  const candidates = [process.env.MORSEL_BIN, join(REPO, 'build', 'release', 'morsel')].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`no morsel binary (looked at ${candidates.join(', ')}); run scripts/build release or set MORSEL_BIN`);
}

/** True when web/dist holds the in-browser engine (scripts/build-wasm ran before scripts/build-web). */
export function webHasEngine() {
  return existsSync(join(WEB_DIST, 'wasm')) && existsSync(join(WEB_DIST, 'index.html'));
}

/** Converts the nsfwjs MobileNetV2 (TF.js) the way scripts/main does; returns the .morsel path. */
export function convertTestModel() {
  const dir = mkdtempSync(join(tmpdir(), 'morsel-e2e-'));
  const out = join(dir, 'mobilenet_v2.morsel');
  const src = join(REPO, 'models', 'nsfwjs', 'mobilenet_v2');
  if (!existsSync(join(src, 'model.json'))) throw new Error(`${src} is missing; run scripts/setup`);
  const r = spawnSync(morselBin(), ['convert', src, '-o', out, '--normalize', 'unit', '--resize', 'bilinear_align_corners'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`morsel convert failed: ${r.stderr || r.stdout}`);
  return out;
}

/** The sample photos the web build copied (their index.json), as absolute paths with names. */
export function samplePhotos() {
  const dir = join(WEB_DIST, 'samples');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  return index.map((s) => ({ ...s, path: join(dir, s.file) }));
}

/**
 * Starts `morsel serve` on a free port. Resolves { url, port, stop() } once it logs "listening"
 * and /v2/health/ready answers 200.
 */
export async function startServer({ model, web = WEB_DIST, extraArgs = [] }) {
  const args = ['serve', '--model', `mobilenet_v2=${model}`, '--web', web, '--port', '0', '--workers', '1', '--no-access-log', ...extraArgs];
  const proc = spawn(morselBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Never leave a server behind, whatever way this process ends.
  const killOnExit = () => proc.kill('SIGKILL');
  process.on('exit', killOnExit);
  proc.on('exit', () => process.off('exit', killOnExit));
  const log = [];
  proc.stderr.on('data', (d) => log.push(String(d)));
  const lines = createInterface({ input: proc.stdout });
  const port = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`morsel serve did not start in 30 s:\n${log.join('')}`)), 30_000);
    proc.on('exit', (code) => rej(new Error(`morsel serve exited with ${code}:\n${log.join('')}`)));
    lines.on('line', (line) => {
      log.push(line + '\n');
      try {
        const j = JSON.parse(line);
        if (j.msg === 'listening' && j.port) {
          clearTimeout(timer);
          res(j.port);
        }
      } catch {
        // not a JSON log line
      }
    });
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(url + 'v2/health/ready').then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let stopped = false;
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    url,
    port,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

function checkChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (Debian package chromium; scripts/setup installs it)`);
}

/** Debian's chromium, headless; playwright gives every launch a fresh temporary profile. */
export async function launchChromium() {
  checkChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A non-incognito profile in a fresh --user-data-dir (what installing an app needs); returns
 * { context, close() }, close() also removing the profile.
 */
export async function launchPersistentChromium(options = {}) {
  checkChromium();
  const dir = mkdtempSync(join(tmpdir(), 'morsel-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The screenshot folder, emptied of the previous run's pictures. */
export function ensureArtifacts() {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of readdirSync(ARTIFACTS)) if (f.endsWith('.png')) rmSync(join(ARTIFACTS, f));
  return ARTIFACTS;
}
