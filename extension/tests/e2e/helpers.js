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
  // A fresh data folder, but the backbone that ./test.sh's install step fetched into the user's own.
  const backbones = process.env.SENTRY_IMAGE_BACKBONES
    || path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'sentry-image', 'backbones');
  const env = { ...process.env, SENTRY_IMAGE_HOME: home, SENTRY_IMAGE_BACKBONES: backbones };
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

/** Build the store packages into a temp folder; resolves the unpacked Firefox package's folder. */
function unpackedFirefoxBuild() {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sentry-ff-'));
  const py = path.join(REPO, '.venv', 'bin', 'python');
  execFileSync(py, [path.join(REPO, 'build_scripts', 'build_extension.py'), '--out', out]);
  const zip = fs.readdirSync(out).find((f) => f.startsWith('sentry-image-firefox-'));
  const dir = path.join(out, 'firefox');
  execFileSync(py, ['-m', 'zipfile', '-e', path.join(out, zip), dir]);
  return dir;
}

/* A "kit" hides the browser: newPage(), openExtensionPage(file), send(msg) to the background,
 * stats(), contextMenuCheck(page, selector, srcUrl), close(). Pages are Playwright pages in Chromium
 * and Puppeteer pages in Firefox; the scenario only uses what both have. */

/** Chromium with the unpacked extension (service worker background). */
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
  return {
    name: 'chromium',
    newPage: () => context.newPage(),
    async openExtensionPage(file) {
      const page = await context.newPage();
      await page.goto(`chrome-extension://${extensionId}/${file}`);
      return page;
    },
    send: (msg) => sw.evaluate((m) => globalThis.SentryBackground.handle(m), msg),
    stats: () => sw.evaluate(() => ({ ...globalThis.SentryBackground.stats })),
    /* Headless Chromium draws no native context menu to click: right-click the image, close the menu,
     * and send what the menu item's handler sends. */
    async contextMenuCheck(page, selector, srcUrl) {
      await page.click(selector, { button: 'right' }).catch(() => {});
      await page.keyboard.press('Escape');
      await sw.evaluate(async (src) => {
        const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
        await chrome.tabs.sendMessage(tab.id, { type: 'showCard', srcUrl: src });
      }, srcUrl);
    },
    close: () => context.close(),
  };
}

/** Firefox ESR with the packaged Firefox build (event page background) over WebDriver BiDi.
 * BiDi will not navigate to moz-extension:// pages, so extension pages are opened as tabs from the
 * browser's own (chrome) context, which `--remote-allow-system-access` exposes; the real context
 * menu is clicked the same way. */
async function launchFirefox() {
  const puppeteer = require('puppeteer-core');
  const dir = unpackedFirefoxBuild();
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true,
    args: ['--remote-allow-system-access'], defaultViewport: { width: 1280, height: 900 } });
  const extensionId = await browser.installExtension(dir);
  const bidi = browser.connection;
  async function chromeEval(expression) {
    const tree = await bidi.send('browsingContext.getTree', { 'moz:scope': 'chrome' });
    const context = tree.result.contexts[0].context;
    const r = await bidi.send('script.evaluate', { expression, target: { context }, awaitPromise: true });
    if (r.result.type !== 'success') throw new Error(`chrome-context script failed: ${JSON.stringify(r.result)}`);
    return r.result.result.value;
  }
  async function openExtensionPage(file) {
    const url = await chromeEval(`WebExtensionPolicy.getByID(${JSON.stringify(extensionId)}).getURL(${JSON.stringify(file)})`);
    const before = new Set(await browser.pages());
    await chromeEval(`(() => {
      gBrowser.selectedTab = gBrowser.addTab(${JSON.stringify(url)},
        { triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() });
      return true;
    })()`);
    const page = await waitFor(async () => (await browser.pages()).find((p) => !before.has(p)), 20000);
    await waitFor(() => page.evaluate((u) => location.href === u && document.readyState === 'complete', url), 20000);
    return page;
  }
  const control = await openExtensionPage('options.html');
  return {
    name: 'firefox',
    extensionId,
    newPage: () => browser.newPage(),
    openExtensionPage,
    send: (msg) => control.evaluate((m) => browser.runtime.sendMessage(m), msg),
    stats: () => control.evaluate(async () => ({ ...(await browser.runtime.getBackgroundPage()).SentryBackground.stats })),
    async contextMenuCheck(page, selector) {
      await page.bringToFront();
      await page.click(selector, { button: 'right' });
      await waitFor(() => chromeEval(`document.getElementById('contentAreaContextMenu').state === 'open'`), 10000);
      await chromeEval(`(() => {
        const menu = document.getElementById('contentAreaContextMenu');
        const item = [...menu.querySelectorAll('menuitem')].find((i) => i.label === 'Check with Sentry-Image' && !i.hidden);
        if (!item) throw new Error('no "Check with Sentry-Image" item in the context menu');
        menu.activateItem(item);
        return true;
      })()`);
    },
    close: () => browser.close(),
  };
}

module.exports = { REPO, SHARED, ARTIFACTS, freePort, waitFor, startService, sharedImages, startFeed,
  unpackedFirefoxBuild, launchChromium, launchFirefox };
