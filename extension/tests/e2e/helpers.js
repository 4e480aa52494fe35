'use strict';
/* Shared e2e helpers: the real service, a local feed server with images from ../shared/data, and
 * Chromium with the unpacked extension loaded. */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '../../..');
const EXT_DIR = path.join(REPO, 'extension', 'src');
const SHARED = path.resolve(REPO, '..', 'shared', 'data');
const SENTRY = path.join(REPO, '.venv', 'bin', 'sentry-image');
const ARTIFACTS = path.join(REPO, 'test-artifacts');

function freePort() {
  return new Promise((resolve) => {
    const srv = http.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(fn, timeoutMs = 60000, stepMs = 200) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out waiting (${last})`);
}

/** Start `sentry-image serve` on a free port with a fresh data folder; resolves {url, home, stop, pairCode}. */
async function startService() {
  const port = await freePort();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sentry-e2e-home-'));
  const env = { ...process.env, SENTRY_IMAGE_HOME: home };
  const proc = spawn(SENTRY, ['serve', '--port', String(port), '--threads', '8'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/v1/health`)).ok, 120000).catch((e) => {
    throw new Error(`service did not start: ${e}\n${log}`);
  });
  const token = fs.readFileSync(path.join(home, 'token'), 'utf8').trim();
  return {
    url, port, home, token, proc,
    log: () => log,
    pairCode: () => execFileSync(SENTRY, ['pair', '--port', String(port)], { env }).toString().match(/(\d{6})/)[1],
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', resolve);
      proc.kill('SIGTERM');
    }),
  };
}

/** Pick `n` real and `n` AI images from the shared val split (deterministic). */
function sharedImages(n) {
  const manifest = path.join(SHARED, 'manifest.csv');
  const lines = fs.readFileSync(manifest, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const col = (name) => header.indexOf(name);
  const rows = lines.slice(1).map((l) => l.split(',')).filter((r) => r[col('split')] === 'val' && r.length === header.length);
  const pick = (label) => rows.filter((r) => r[col('label')] === label && Number(r[col('width')]) >= 200)
    .filter((_, i) => i % 7 === 0).slice(0, n).map((r) => ({ file: path.join(SHARED, r[col('file')]), label }));
  return [...pick('real'), ...pick('ai')];
}

/** Serve a feed page listing `images` (and /img/<i> for each) on 127.0.0.1 and localhost. */
async function startFeed(images) {
  const port = await freePort();
  const page = (title) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:0;background:#f1f3f4} .post{display:inline-block;margin:8px;background:#fff;padding:6px;border-radius:8px}
.post img{width:220px;height:220px;object-fit:cover;display:block}</style></head><body>
<h1 style="margin:8px">Test feed</h1><div id="feed">${images.map((_, i) =>
    `<div class="post"><img id="img${i}" src="/img/${i}" alt="post ${i}"></div>`).join('')}</div></body></html>`;
  const server = http.createServer((req, res) => {
    const m = req.url.match(/^\/img\/(\d+)$/);
    if (m && images[Number(m[1])]) {
      const f = images[Number(m[1])].file;
      res.writeHead(200, { 'Content-Type': f.endsWith('.webp') ? 'image/webp' : 'image/jpeg', 'Cache-Control': 'no-store' });
      return fs.createReadStream(f).pipe(res);
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(page('Feed'));
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { port, url: `http://127.0.0.1:${port}/`, altUrl: `http://localhost:${port}/`, close: () => server.close() };
}

/** Chromium with the extension; resolves {context, sw, extensionId, close}. */
async function launchChromium() {
  const { chromium } = require('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sentry-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    headless: false,
    executablePath: '/usr/bin/chromium',
    viewport: { width: 1280, height: 900 },
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--disable-extensions-except=${EXT_DIR}`, `--load-extension=${EXT_DIR}`],
  });
  const sw = context.serviceWorkers()[0] || await context.waitForEvent('serviceworker', { timeout: 30000 });
  const extensionId = new URL(sw.url()).host;
  return { context, sw, extensionId, close: () => context.close() };
}

module.exports = { REPO, SHARED, ARTIFACTS, freePort, waitFor, startService, sharedImages, startFeed, launchChromium };
