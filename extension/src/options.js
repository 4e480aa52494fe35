'use strict';
(async function () {
  const B = globalThis.SentryBrowser;
  const $ = (id) => document.getElementById(id);
  let settings = await B.runtime.sendMessage({ type: 'settings' });

  function fill() {
    $('serviceUrl').value = settings.serviceUrl;
    $('token').value = settings.token || '';
    $('showReal').checked = Boolean(settings.showReal);
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
      minSize: Math.max(32, Number($('minSize').value) || 96),
      thresholds: $('customThresholds').checked ? { likelyAi, likelyReal } : null,
    } });
    $('saved').textContent = 'Saved.';
    refreshStatus();
  });

  $('pair').addEventListener('click', async () => {
    const r = await B.runtime.sendMessage({ type: 'pair', code: $('code').value.trim() });
    $('pair-result').textContent = r.ok ? 'Paired.' : `Pairing failed: ${r.error || 'enter the 6-digit code'}`;
    settings = await B.runtime.sendMessage({ type: 'settings' });
    fill();
    refreshStatus();
  });

  fill();
  refreshStatus();
})();
