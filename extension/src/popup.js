'use strict';
(async function () {
  const B = globalThis.SentryBrowser;
  const { badgesEnabled, toggleSite, normalizeHost } = globalThis.SentrySites;
  const $ = (id) => document.getElementById(id);
  const LABEL = { running: 'Service running', not_running: 'Service not running', not_paired: 'Not paired', no_model: 'No model installed' };

  const status = await B.runtime.sendMessage({ type: 'status' });
  $('status').textContent = `${LABEL[status.state] || status.state}${status.message ? ' — ' + status.message : ''}`;
  $('status').dataset.state = status.state;
  if (status.model) $('model').textContent = `Model: ${status.model.name} (${status.health.device})`;

  const [tab] = await B.tabs.query({ active: true, currentWindow: true });
  const web = tab && tab.url && /^https?:/.test(tab.url);
  const host = web ? normalizeHost(new URL(tab.url).hostname) : '';
  $('site').textContent = host || '(not a web page)';
  $('site-toggle').disabled = !web;
  let settings = await B.runtime.sendMessage({ type: 'settings' });
  $('site-toggle').checked = badgesEnabled(host, { ...settings, paused: false });
  $('pause').checked = Boolean(settings.paused);
  $('service-paused').hidden = !settings.servicePaused;
  const counts = tab ? await B.runtime.sendMessage({ type: 'tabCounts', tabId: tab.id }) : null;
  if (counts && counts.checked) {
    $('counts').textContent = `${counts.checked} checked: ${counts.ai} likely AI, ${counts.uncertain} uncertain, ${counts.real} likely real`;
  }
  $('site-toggle').addEventListener('change', async (e) => {
    settings = await B.runtime.sendMessage({ type: 'saveSettings', settings: toggleSite(host, settings, e.target.checked) });
  });
  $('pause').addEventListener('change', async (e) => {
    settings = await B.runtime.sendMessage({ type: 'saveSettings', settings: { ...settings, paused: e.target.checked } });
  });
})();
