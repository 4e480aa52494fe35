/* Messages between content scripts, popup, options and the background script, validated on arrival. */
(function (root) {
  'use strict';

  /** Whether `url` is a service address on this computer: http(s)://loopback-host[:port], no path. */
  function isServiceUrl(url) {
    let u;
    try {
      u = new URL(String(url));
    } catch (e) {
      return false;
    }
    const loopback = u.hostname === 'localhost' || u.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(u.hostname);
    return /^https?:$/.test(u.protocol) && loopback && !u.username && !u.password
      && u.pathname.replace(/\/+$/, '') === '' && !u.search && !u.hash;
  }

  const TYPES = {
    check: (m) => typeof m.url === 'string' && m.url.length <= 4 * 1024 * 1024 && /^(https?:|data:image\/)/i.test(m.url),
    checkBytes: (m) => typeof m.dataUrl === 'string' && /^data:image\//i.test(m.dataUrl) && typeof m.key === 'string',
    status: () => true,
    settings: () => true,
    saveSettings: (m) => m.settings !== null && typeof m.settings === 'object'
      && (m.settings.serviceUrl === undefined || isServiceUrl(m.settings.serviceUrl)),
    pair: (m) => typeof m.code === 'string' && /^\d{6}$/.test(m.code),
    heatmap: (m) => typeof m.url === 'string' && /^(https?:|data:image\/)/i.test(m.url),
    tabCounts: () => true,
  };

  /** {ok: true} or {ok: false, error} for a message object. */
  function validateMessage(m) {
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return { ok: false, error: 'message must be an object with a type' };
    const check = TYPES[m.type];
    if (!check) return { ok: false, error: `unknown message type ${m.type}` };
    return check(m) ? { ok: true } : { ok: false, error: `malformed ${m.type} message` };
  }

  const api = { TYPES: Object.keys(TYPES), validateMessage, isServiceUrl };
  root.SentryMessages = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
