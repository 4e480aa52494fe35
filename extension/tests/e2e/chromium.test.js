'use strict';
/* End-to-end in real headless Chromium against the real service and the built-in model. */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ARTIFACTS, SHARED, waitFor, startService, sharedImages, startFeed, launchChromium } = require('./helpers.js');

const haveShared = fs.existsSync(path.join(SHARED, 'manifest.csv'));
const haveChromium = fs.existsSync('/usr/bin/chromium');

test('extension in Chromium: pairing, badges, new images, card, disabled site, stopped service',
  { skip: !haveShared ? '../shared/data is not present' : !haveChromium ? '/usr/bin/chromium is not installed' : false, timeout: 600000 },
  async () => {
    const service = await startService();
    const images = sharedImages(25);
    const feed = await startFeed(images);
    const browser = await launchChromium();
    try {
      const { context, sw } = browser;
      // Pair through the extension with a code from `sentry-image pair`.
      const code = service.pairCode();
      await sw.evaluate(async ({ url }) => {
        const s = await globalThis.SentryBackground.getSettings();
        await globalThis.SentryBackground.saveSettings({ ...s, serviceUrl: url, siteOverrides: { '127.0.0.1': true } });
      }, { url: service.url });
      const paired = await sw.evaluate((c) => globalThis.SentryBackground.handle({ type: 'pair', code: c }), code);
      assert.equal(paired.ok, true, JSON.stringify(paired));
      const st = await sw.evaluate(() => globalThis.SentryBackground.status());
      assert.equal(st.state, 'running');

      // Badged feed: time from page load to the last verdict on a 50-image page.
      const page = await context.newPage();
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
      const verdicts = await page.evaluate(() => Array.from(document.querySelectorAll('#feed img'))
        .map((i) => ({ id: i.id, state: i.dataset.sentryVerdict })));
      const badgeCount = await page.evaluate(() => Array.from(document.querySelectorAll('.sentry-badge')).filter((b) => !b.hidden).length);
      const stats = await sw.evaluate(() => ({ ...globalThis.SentryBackground.stats }));
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'extension-feed.png'), fullPage: false });

      // What the model says for each image, asked directly (bytes) after the browser run.
      const expected = [];
      for (const img of images) {
        const r = await fetch(`${service.url}/api/v1/detect`, { method: 'POST', body: fs.readFileSync(img.file),
          headers: { 'X-Sentry-Token': service.token, 'Content-Type': 'application/octet-stream' } });
        expected.push((await r.json()).results[0].verdict);
      }
      const stateOf = { likely_ai: 'ai', uncertain: 'uncertain', likely_real: 'real' };
      verdicts.forEach((v, i) => assert.equal(v.state, stateOf[expected[i]], `image ${i} (${images[i].label})`));
      const shouldBadge = expected.filter((v) => v !== 'likely_real').length;
      assert.equal(badgeCount, shouldBadge);
      const aiHits = expected.filter((v, i) => images[i].label === 'ai' && v === 'likely_ai').length;
      const realHits = expected.filter((v, i) => images[i].label === 'real' && v === 'likely_ai').length;
      console.log(JSON.stringify({ measured: { images: images.length, page_load_to_last_badge_ms: lastBadgeMs,
        total_ms: Date.now() - t0, detect_requests: stats.detectRequests, requests_per_image: stats.detectRequests / images.length,
        badges: badgeCount, ai_called_ai: aiHits, real_called_ai: realHits } }));

      // Images appended later (infinite scroll) get verdicts too.
      await page.evaluate(() => {
        const img = document.createElement('img');
        img.id = 'late';
        img.src = '/img/30';
        img.style.cssText = 'width:220px;height:220px';
        document.getElementById('feed').prepend(img);
      });
      await waitFor(() => page.evaluate(() => {
        const s = document.getElementById('late').dataset.sentryVerdict;
        return s && s !== 'pending';
      }), 60000);

      // A changed src is a new image: its old badge goes, and badges keep matching verdicts.
      await page.evaluate(() => { document.getElementById('img1').src = '/img/45'; });
      await waitFor(() => page.evaluate(() => {
        const imgs = Array.from(document.images).filter((i) => i.dataset.sentryVerdict);
        const want = imgs.filter((i) => ['ai', 'uncertain'].includes(i.dataset.sentryVerdict)).length;
        const have = Array.from(document.querySelectorAll('.sentry-badge')).filter((b) => !b.hidden).length;
        return !imgs.some((i) => i.dataset.sentryVerdict === 'pending') && want === have;
      }), 60000);

      // The context-menu path: right-click target + the message the menu item sends.
      await page.click('#img26', { button: 'right' }).catch(() => {});
      await page.keyboard.press('Escape');
      const tabId = await sw.evaluate(async () => (await chrome.tabs.query({ active: true }))[0].id);
      await sw.evaluate(({ id, src }) => chrome.tabs.sendMessage(id, { type: 'showCard', srcUrl: src }),
        { id: tabId, src: `${feed.url}img/26` });
      const cardText = await waitFor(() => page.evaluate(() => {
        const c = document.querySelector('.sentry-card');
        return c && /likely|uncertain/.test(c.textContent) ? c.textContent : null;
      }), 60000);
      assert.match(cardText, /P\(AI\) \d\.\d\d/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'extension-card.png') });

      // A site that is not enabled gets no badges.
      const other = await context.newPage();
      await other.goto(feed.altUrl, { waitUntil: 'load' });
      await other.waitForTimeout(2500);
      assert.equal(await other.evaluate(() => document.querySelectorAll('[data-sentry-verdict], .sentry-badge').length), 0);

      // A stopped service shows as "not running" in the background and in the popup.
      await service.stop();
      const down = await sw.evaluate(() => globalThis.SentryBackground.status());
      assert.equal(down.state, 'not_running');
      const popup = await context.newPage();
      await popup.goto(`chrome-extension://${browser.extensionId}/popup.html`);
      await waitFor(() => popup.evaluate(() => document.getElementById('status').dataset.state === 'not_running'), 20000);
      await popup.screenshot({ path: path.join(ARTIFACTS, 'extension-popup-down.png') });
    } finally {
      await browser.close().catch(() => {});
      feed.close();
      await service.stop();
    }
  });
