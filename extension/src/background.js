/* Background: talks to the local service (and to nothing else but the images it is asked about),
 * owns the request queue, the settings and the context menu.
 * Chrome runs it as a service worker (the libraries come in through importScripts); Firefox as an
 * event page that lists the same files in manifest.json. */
'use strict';
if (typeof importScripts === 'function' && !globalThis.SentryQueue) {
  importScripts('browser-api.js', 'lib/messages.js', 'lib/queue.js', 'lib/sites.js', 'lib/srcset.js');
}
const B = globalThis.SentryBrowser;
const DEFAULTS = {
  serviceUrl: 'http://127.0.0.1:8765',
  token: '',
  paused: false,
  showReal: false,
  showUncertain: false, // feeds get "likely AI" only; "uncertain" shows on a right-click check
  minSize: 96,
  siteOverrides: {},
  thresholds: null,
};
const stats = { detectRequests: 0, imagesChecked: 0 };
let queue = null;
let queueKey = '';
const tabCounts = new Map();

async function getSettings() {
  const stored = await B.storage.local.get('settings');
  return { ...DEFAULTS, ...(stored.settings || {}) };
}

async function saveSettings(settings) {
  const clean = { ...DEFAULTS, ...settings };
  delete clean.servicePaused; // read from the service each time, never stored
  clean.serviceUrl = String(clean.serviceUrl).replace(/\/+$/, '');
  await B.storage.local.set({ settings: clean });
  return clean;
}

function api(settings, path) {
  return `${settings.serviceUrl}/api/v1${path}`;
}

async function postDetect(settings, body, contentType) {
  let resp;
  stats.detectRequests += 1;
  try {
    resp = await fetch(api(settings, '/detect'), {
      method: 'POST', body, headers: { 'Content-Type': contentType, 'X-Sentry-Token': settings.token },
    });
  } catch (e) {
    throw Object.assign(new Error('service not running'), { serviceDown: true });
  }
  const json = await resp.json().catch(() => ({}));
  if (resp.status === 401) throw Object.assign(new Error('not paired'), { code: 'unauthorized' });
  if (resp.status === 503) throw Object.assign(new Error(json.error ? json.error.message : 'no model'), { code: 'no_model' });
  if (Array.isArray(json.results)) return json.results;
  throw Object.assign(new Error(json.error ? json.error.message : `HTTP ${resp.status}`), { code: 'http' });
}

async function getQueue() {
  const s = await getSettings();
  const key = `${s.serviceUrl}|${s.token}`;
  if (!queue || key !== queueKey) {
    queueKey = key;
    queue = new globalThis.SentryQueue.DetectQueue({
      batchSize: 8, maxConcurrent: 2,
      send: (urls) => postDetect(s, JSON.stringify({ urls }), 'application/json'),
    });
  }
  return queue;
}

// Error codes meaning the service could not fetch a URL (cookies, referrer checks, intranet):
// the background then fetches the image with the user's session and posts the bytes.
const SERVICE_CANNOT_FETCH = ['fetch_error', 'forbidden_url'];

/** Fetch an image ourselves (the user's cookies apply); resolves {blob, type} for posting. */
async function fetchImage(url) {
  const resp = await fetch(url, { credentials: 'include' });
  if (!resp.ok) throw new Error(`image answered HTTP ${resp.status}`);
  const blob = await resp.blob();
  return { blob, type: blob.type && blob.type.startsWith('image/') ? blob.type : 'application/octet-stream' };
}

/** Fetch an image ourselves and post its bytes to /detect. */
async function checkBytesOf(url) {
  const s = await getSettings();
  const { blob, type } = await fetchImage(url);
  return (await postDetect(s, blob, type))[0];
}

async function dataUrlToBlob(dataUrl) {
  return (await fetch(dataUrl)).blob();
}

async function check(url) {
  if (url.startsWith('data:')) {
    const s = await getSettings();
    const blob = await dataUrlToBlob(url);
    return (await postDetect(s, blob, blob.type || 'application/octet-stream'))[0];
  }
  const q = await getQueue();
  const result = await q.check(url);
  if (result && result.error && SERVICE_CANNOT_FETCH.includes(result.error.code)) {
    try {
      const direct = await checkBytesOf(url);
      q.results.set(url, direct);
      return direct;
    } catch (e) {
      return result;
    }
  }
  return result;
}

async function status() {
  const s = await getSettings();
  let health;
  try {
    const r = await fetch(api(s, '/health'));
    health = await r.json();
  } catch (e) {
    return { state: 'not_running', message: `No service at ${s.serviceUrl}. Start it with ./run.sh or the desktop app.` };
  }
  const r = await fetch(api(s, '/models'), { headers: { 'X-Sentry-Token': s.token } }).catch(() => null);
  if (!r || r.status === 401) return { state: 'not_paired', health, message: 'Pair in the options page.' };
  if (!health.ready) return { state: 'no_model', health, message: 'The service has no model installed.' };
  return { state: 'running', health, model: health.model };
}

async function pair(code) {
  const s = await getSettings();
  const r = await fetch(api(s, '/pair'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }) });
  const json = await r.json().catch(() => ({}));
  if (!r.ok || !json.token) return { ok: false, error: json.error ? json.error.message : `HTTP ${r.status}` };
  await saveSettings({ ...s, token: json.token });
  return { ok: true };
}

async function postHeatmap(s, body, contentType) {
  return fetch(api(s, '/heatmap'), { method: 'POST', body, headers: { 'Content-Type': contentType, 'X-Sentry-Token': s.token } });
}

/** The heatmap PNG as a data: URL; like check(), falls back to the bytes when the service cannot fetch the URL. */
async function heatmap(url) {
  const s = await getSettings();
  let r;
  if (url.startsWith('data:')) {
    const blob = await dataUrlToBlob(url);
    r = await postHeatmap(s, blob, blob.type);
  } else {
    r = await postHeatmap(s, JSON.stringify({ url }), 'application/json');
    const json = r.ok ? null : await r.clone().json().catch(() => ({}));
    if (json && json.error && SERVICE_CANNOT_FETCH.includes(json.error.code)) {
      let image;
      try {
        image = await fetchImage(url);
      } catch (e) {
        return { error: e.message };
      }
      r = await postHeatmap(s, image.blob, image.type);
    }
  }
  if (!r.ok) return { error: `HTTP ${r.status}` };
  const buf = new Uint8Array(await r.arrayBuffer());
  let bin = '';
  for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
  return { dataUrl: `data:image/png;base64,${btoa(bin)}` };
}

async function handle(msg, sender) {
  const v = globalThis.SentryMessages.validateMessage(msg);
  if (!v.ok) return { error: { code: 'bad_message', message: v.error } };
  switch (msg.type) {
    case 'check':
      try {
        stats.imagesChecked += 1;
        return { result: await check(msg.url) };
      } catch (e) {
        return { error: { code: e.name === 'ServiceDownError' || e.serviceDown ? 'service_down' : e.code || 'error', message: e.message } };
      }
    case 'checkBytes':
      try {
        const s = await getSettings();
        const blob = await dataUrlToBlob(msg.dataUrl);
        return { result: (await postDetect(s, blob, blob.type))[0] };
      } catch (e) {
        return { error: { code: e.serviceDown ? 'service_down' : e.code || 'error', message: e.message } };
      }
    case 'status': return status();
    case 'settings': {
      // The desktop app's tray can pause badges for every browser through the service.
      const s = await getSettings();
      try {
        const h = await (await fetch(api(s, '/health'), { signal: AbortSignal.timeout(1500) })).json();
        return { ...s, servicePaused: Boolean(h.badges_paused) };
      } catch (e) {
        return s;
      }
    }
    case 'saveSettings': {
      const saved = await saveSettings(msg.settings);
      queue = null;
      return saved;
    }
    case 'pair': return pair(msg.code);
    case 'heatmap': return heatmap(msg.url);
    case 'tabCounts':
      if (sender && sender.tab && msg.counts) tabCounts.set(sender.tab.id, msg.counts);
      return msg.tabId !== undefined ? tabCounts.get(msg.tabId) || null : null;
    default: return { error: { code: 'bad_message', message: 'unhandled' } };
  }
}

B.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  handle(msg, sender).then(sendResponse, (e) => sendResponse({ error: { code: 'error', message: String(e) } }));
  return true;
});

B.runtime.onInstalled.addListener(() => {
  B.contextMenus.create({ id: 'sentry-check', title: 'Check with Sentry-Image', contexts: ['image'] }, () => void B.runtime.lastError);
});

B.contextMenus.onClicked.addListener((info, tab) => {
  if (info.menuItemId === 'sentry-check' && tab && tab.id !== undefined) {
    B.tabs.sendMessage(tab.id, { type: 'showCard', srcUrl: info.srcUrl }).catch(() => {});
  }
});

globalThis.SentryBackground = { handle, check, status, getSettings, saveSettings, stats };
