'use strict';
(async function () {
  const B = globalThis.SentryBrowser;
  const { isServiceUrl } = globalThis.SentryMessages;
  const $ = (id) => document.getElementById(id);
  const BAD_URL = 'The service address must be on this computer, e.g. http://127.0.0.1:8765.';
  let settings = await B.runtime.sendMessage({ type: 'settings' });

  function fill() {
    $('serviceUrl').value = settings.serviceUrl;
    $('token').value = settings.token || '';
    $('showReal').checked = Boolean(settings.showReal);
    $('showUncertain').checked = settings.showUncertain === true;
    $('minSize').value = settings.minSize;
    $('customThresholds').checked = Boolean(settings.thresholds);
    if (settings.thresholds) {
      $('likelyAi').value = settings.thresholds.likelyAi;
      $('likelyReal').value = settings.thresholds.likelyReal;
    }
  }

  async function refreshStatus() {
    const s = await B.runtime.sendMessage({ type: 'status' });
    $('status').textContent = s.state === 'running' ? `Running — model ${s.model.name}` : s.message;
    $('status').dataset.state = s.state;
  }

  $('save').addEventListener('click', async () => {
    if (!isServiceUrl($('serviceUrl').value.trim())) {
      $('saved').textContent = BAD_URL;
      return;
    }
    const likelyAi = Number($('likelyAi').value);
    const likelyReal = Number($('likelyReal').value);
    if ($('customThresholds').checked && !(likelyReal <= likelyAi && likelyReal >= 0 && likelyAi <= 1)) {
      $('saved').textContent = 'Thresholds must satisfy 0 ≤ likely real ≤ likely AI ≤ 1.';
      return;
    }
    settings = await B.runtime.sendMessage({ type: 'saveSettings', settings: {
      ...settings,
      serviceUrl: $('serviceUrl').value.trim(),
      token: $('token').value.trim(),
      showReal: $('showReal').checked,
      showUncertain: $('showUncertain').checked,
      minSize: Math.max(32, Number($('minSize').value) || 96),
      thresholds: $('customThresholds').checked ? { likelyAi, likelyReal } : null,
    } });
    $('saved').textContent = 'Saved.';
    refreshStatus();
  });

  $('pair').addEventListener('click', async () => {
    // Pair with the address in the field, saved or not.
    const serviceUrl = $('serviceUrl').value.trim();
    if (!isServiceUrl(serviceUrl)) {
      $('pair-result').textContent = BAD_URL;
      return;
    }
    if (serviceUrl && serviceUrl !== settings.serviceUrl) {
      settings = await B.runtime.sendMessage({ type: 'saveSettings', settings: { ...settings, serviceUrl } });
    }
    const r = await B.runtime.sendMessage({ type: 'pair', code: $('code').value.trim() });
    const why = r.error && typeof r.error === 'object' ? r.error.message : r.error;
    $('pair-result').textContent = r.ok ? 'Paired.' : `Pairing failed: ${why || 'enter the 6-digit code'}`;
    settings = await B.runtime.sendMessage({ type: 'settings' });
    fill();
    refreshStatus();
  });

  fill();
  await refreshStatus();
  document.body.dataset.ready = 'true';
})();
