'use strict';
/* The end-to-end scenario both browsers run against the real service and the built-in model:
 * pair through the options page, badges on a 50-image feed match the model's own verdicts ("likely AI"
 * only by default: "uncertain" images get no feed badge, yet their right-click card shows), images
 * added later get badges, the context menu gives the card, a site that is not enabled gets nothing,
 * the desktop app's pause holds in the browser, and a stopped service shows as "not running". */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ARTIFACTS, waitFor, startService, sharedImages, startFeed } = require('./helpers.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const visibleBadges = () => Array.from(document.querySelectorAll('.sentry-badge')).filter((b) => !b.hidden).length;

/** Pair through the options page UI: service address + the code `sentry-image pair` prints. */
async function pairThroughOptions(kit, service) {
  const options = await kit.openExtensionPage('options.html');
  await waitFor(() => options.evaluate(() => document.body.dataset.ready === 'true'), 20000);
  await options.evaluate(() => { document.getElementById('serviceUrl').value = ''; });
  await options.type('#serviceUrl', service.url);
  await options.type('#code', service.pairCode());
  await options.click('#pair');
  const result = await waitFor(() => options.evaluate(() => document.getElementById('pair-result').textContent), 20000);
  assert.equal(result, 'Paired.');
  await waitFor(() => options.evaluate(() => document.getElementById('status').dataset.state === 'running'), 20000);
  await options.screenshot({ path: path.join(ARTIFACTS, `extension-${kit.name}-options.png`) });
  await options.close();
}

/** What the model says for each image, asked directly with the bytes. */
async function modelVerdicts(service, images) {
  const out = [];
  for (const img of images) {
    const r = await fetch(`${service.url}/api/v1/detect`, { method: 'POST', body: fs.readFileSync(img.file),
      headers: { 'X-Sentry-Token': service.token, 'Content-Type': 'application/octet-stream' } });
    out.push((await r.json()).results[0].verdict);
  }
  return out;
}

/** Run the scenario with a browser kit from helpers.js (launchChromium / launchFirefox). */
async function badgeFlow(launch) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const service = await startService();
  const images = sharedImages(25);
  const feed = await startFeed(images);
  const kit = await launch();
  const shot = (page, what) => page.screenshot({ path: path.join(ARTIFACTS, `extension-${kit.name}-${what}.png`) });
  try {
    await pairThroughOptions(kit, service);
    assert.equal((await kit.send({ type: 'status' })).state, 'running');
    const settings = await kit.send({ type: 'settings' });
    await kit.send({ type: 'saveSettings', settings: { ...settings, siteOverrides: { '127.0.0.1': true } } });

    // Badged feed: time from page load to the last verdict on a 50-image page.
    const page = await kit.newPage();
    const t0 = Date.now();
    await page.goto(feed.url, { waitUntil: 'load' });
    const loadedAt = Date.now();
    // Scroll through the feed like a reader: only images that come into view are checked.
    await page.evaluate(async () => {
      while (window.scrollY + window.innerHeight < document.body.scrollHeight) {
        window.scrollBy(0, 500);
        await new Promise((r) => setTimeout(r, 150));
      }
      window.scrollTo(0, 0);
    });
    await waitFor(() => page.evaluate((n) => document.querySelectorAll('img[data-sentry-verdict]').length === n
      && !document.querySelector('img[data-sentry-verdict=pending]'), images.length), 300000, 250);
    const lastBadgeMs = Date.now() - loadedAt;
    const states = await page.evaluate(() => Array.from(document.querySelectorAll('#feed img')).map((i) => i.dataset.sentryVerdict));
    const badgeCount = await page.evaluate(visibleBadges);
    const stats = await kit.stats();
    await shot(page, 'feed');

    const expected = await modelVerdicts(service, images);
    const stateOf = { likely_ai: 'ai', uncertain: 'uncertain', likely_real: 'real' };
    states.forEach((s, i) => assert.equal(s, stateOf[expected[i]], `image ${i} (${images[i].label})`));
    // By default a feed badge means "likely AI": "uncertain" images are checked but get no badge.
    assert.equal(badgeCount, expected.filter((v) => v === 'likely_ai').length);
    const uncertainIdx = expected.findIndex((v, i) => v === 'uncertain' && i !== 1); // img1 changes src below
    assert.ok(uncertainIdx >= 0, 'the feed should hold at least one image the model is uncertain about');
    assert.equal(await page.evaluate(() => document.querySelectorAll('.sentry-badge--uncertain:not([hidden])').length), 0);
    console.log(JSON.stringify({ measured: { browser: kit.name, images: images.length, page_load_to_last_badge_ms: lastBadgeMs,
      total_ms: Date.now() - t0, detect_requests: stats.detectRequests, requests_per_image: stats.detectRequests / images.length,
      badges: badgeCount,
      ai_called_ai: expected.filter((v, i) => images[i].label === 'ai' && v === 'likely_ai').length,
      real_called_ai: expected.filter((v, i) => images[i].label === 'real' && v === 'likely_ai').length } }));

    // Images appended later (infinite scroll) get verdicts too.
    await page.evaluate(() => {
      const img = document.createElement('img');
      img.id = 'late';
      img.src = '/img/30';
      img.style.cssText = 'width:220px;height:220px';
      document.getElementById('feed').prepend(img);
    });
    // ... also as blob: and data: URLs (bytes read in the page / the background and posted).
    await page.evaluate(async () => {
      const blob = await (await fetch('/img/31')).blob();
      const other = await (await fetch('/img/32')).blob();
      const dataUrl = await new Promise((resolve) => {
        const fr = new FileReader();
        fr.onload = () => resolve(fr.result);
        fr.readAsDataURL(other);
      });
      for (const [id, src] of [['late-blob', URL.createObjectURL(blob)], ['late-data', dataUrl]]) {
        const img = document.createElement('img');
        img.id = id;
        img.src = src;
        img.style.cssText = 'width:220px;height:220px';
        document.getElementById('feed').prepend(img);
      }
    });
    const lateStates = await waitFor(() => page.evaluate(() => {
      const s = ['late', 'late-blob', 'late-data'].map((id) => document.getElementById(id).dataset.sentryVerdict);
      return s.every((v) => v && v !== 'pending') ? s : null;
    }), 60000);
    const lateExpected = await modelVerdicts(service, [images[30], images[31], images[32]]);
    assert.deepEqual(lateStates, lateExpected.map((v) => stateOf[v]));

    // A changed src is a new image: its old badge goes, and badges keep matching verdicts.
    await page.evaluate(() => { document.getElementById('img1').src = '/img/45'; });
    await waitFor(() => page.evaluate(() => {
      const imgs = Array.from(document.images).filter((i) => i.dataset.sentryVerdict);
      const want = imgs.filter((i) => i.dataset.sentryVerdict === 'ai').length;
      const have = Array.from(document.querySelectorAll('.sentry-badge')).filter((b) => !b.hidden).length;
      return !imgs.some((i) => i.dataset.sentryVerdict === 'pending') && want === have;
    }), 60000);

    // The context menu: "Check with Sentry-Image" on an image opens the card next to it, also for an
    // image whose "uncertain" verdict has no feed badge.
    await kit.contextMenuCheck(page, `#img${uncertainIdx}`, `${feed.url}img/${uncertainIdx}`);
    const cardText = await waitFor(() => page.evaluate(() => {
      const c = document.querySelector('.sentry-card');
      return c && /likely|uncertain/.test(c.textContent) ? c.textContent : null;
    }), 60000);
    assert.match(cardText, /P\(AI\) \d\.\d\d/);
    assert.match(cardText, /uncertain/i);
    assert.match(cardText, /File: (JPEG|lossless|lossy)/);
    await page.click('.sentry-card__details');
    await waitFor(() => page.evaluate(() => {
      const h = document.querySelector('.sentry-card__heatmap');
      return h && h.complete && h.naturalWidth > 0;
    }), 60000);
    await shot(page, 'card');

    // A site that is not enabled gets no badges.
    const other = await kit.newPage();
    await other.goto(feed.altUrl, { waitUntil: 'load' });
    await sleep(2500);
    assert.equal(await other.evaluate(() => document.querySelectorAll('[data-sentry-verdict], .sentry-badge').length), 0);

    // With "uncertain" badges turned on in the options, uncertain images get a badge too.
    const current = await kit.send({ type: 'settings' });
    assert.equal(current.showUncertain, false);
    await kit.send({ type: 'saveSettings', settings: { ...current, showUncertain: true } });
    await page.reload({ waitUntil: 'load' });
    await waitFor(() => page.evaluate(() => {
      const imgs = Array.from(document.querySelectorAll('#feed img[data-sentry-verdict]'));
      const badges = Array.from(document.querySelectorAll('.sentry-badge')).filter((b) => !b.hidden);
      return imgs.length > 0 && !imgs.some((i) => i.dataset.sentryVerdict === 'pending')
        && badges.length === imgs.filter((i) => ['ai', 'uncertain'].includes(i.dataset.sentryVerdict)).length
        && badges.some((b) => b.classList.contains('sentry-badge--uncertain'));
    }), 60000);
    await kit.send({ type: 'saveSettings', settings: { ...current, showUncertain: false } });

    // The desktop app's pause (kept by the service) stops badges in every browser; the popup says so.
    const settingsFile = path.join(service.home, 'settings.json');
    const saved = fs.existsSync(settingsFile) ? JSON.parse(fs.readFileSync(settingsFile, 'utf8')) : {};
    fs.writeFileSync(settingsFile, JSON.stringify({ ...saved, badges_paused: true }));
    const pausedPopup = await kit.openExtensionPage('popup.html');
    await waitFor(() => pausedPopup.evaluate(() => !document.getElementById('service-paused').hidden), 20000);
    assert.equal(await pausedPopup.evaluate(() => document.getElementById('pause').checked), false);
    await shot(pausedPopup, 'popup-paused');
    await page.reload({ waitUntil: 'load' });
    await sleep(2500);
    assert.equal(await page.evaluate(() => document.querySelectorAll('[data-sentry-verdict], .sentry-badge').length), 0);
    fs.writeFileSync(settingsFile, JSON.stringify(saved));

    // A stopped service shows as "not running" in the background and in the popup.
    await service.stop();
    assert.equal((await kit.send({ type: 'status' })).state, 'not_running');
    const popup = await kit.openExtensionPage('popup.html');
    await waitFor(() => popup.evaluate(() => document.getElementById('status').dataset.state === 'not_running'), 20000);
    await shot(popup, 'popup-down');
  } finally {
    await kit.close().catch(() => {});
    feed.close();
    await service.stop();
  }
}

module.exports = { badgeFlow };
