/* Which sites get automatic badges: the big feeds by default, any other site once the user enables
 * it, none while badges are paused. */
(function (root) {
  'use strict';

  const DEFAULT_FEEDS = ['x.com', 'twitter.com', 'instagram.com', 'facebook.com', 'reddit.com', 'bsky.app',
    'threads.net', 'pinterest.com', 'tumblr.com', 'linkedin.com'];

  /** Lower-case host without "www." and without a port. */
  function normalizeHost(host) {
    return String(host || '').toLowerCase().replace(/:\d+$/, '').replace(/^www\./, '');
  }

  /** The default feed a host belongs to (old.reddit.com -> reddit.com), or null. */
  function feedFor(host) {
    const h = normalizeHost(host);
    return DEFAULT_FEEDS.find((f) => h === f || h.endsWith('.' + f)) || null;
  }

  /** Whether badges run on `host` given settings {paused, servicePaused, siteOverrides: {host: bool}}.
   * `paused` is this browser's pause; `servicePaused` the desktop app's pause for every browser. */
  function badgesEnabled(host, settings) {
    const s = settings || {};
    if (s.paused || s.servicePaused) return false;
    const h = normalizeHost(host);
    const overrides = s.siteOverrides || {};
    const key = feedFor(h) || h;
    if (Object.prototype.hasOwnProperty.call(overrides, key)) return Boolean(overrides[key]);
    return feedFor(h) !== null;
  }

  /** Settings with the site toggled (the key is the feed for feed sub-domains). */
  function toggleSite(host, settings, enabled) {
    const h = normalizeHost(host);
    const key = feedFor(h) || h;
    return { ...settings, siteOverrides: { ...(settings.siteOverrides || {}), [key]: Boolean(enabled) } };
  }

  const api = { DEFAULT_FEEDS, normalizeHost, feedFor, badgesEnabled, toggleSite };
  root.SentrySites = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
