'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseSrcset, pickImageUrl, isCheckableUrl } = require('../../src/lib/srcset.js');
const { badgesEnabled, toggleSite, feedFor } = require('../../src/lib/sites.js');
const { stateFor, transition, present, describeCompression } = require('../../src/lib/badge.js');
const { validateMessage, isServiceUrl } = require('../../src/lib/messages.js');
const { DetectQueue, ServiceDownError } = require('../../src/lib/queue.js');

test('srcset: parses widths and densities', () => {
  assert.deepEqual(parseSrcset('a.jpg 320w, b.jpg 640w'), [
    { url: 'a.jpg', w: 320, x: null }, { url: 'b.jpg', w: 640, x: null }]);
  assert.deepEqual(parseSrcset('a.jpg, b.jpg 2x').map((c) => c.url), ['a.jpg', 'b.jpg']);
  assert.deepEqual(parseSrcset(''), []);
});

test('srcset: currentSrc wins, else the largest candidate, else src; relative URLs resolve', () => {
  const base = 'https://feed.example/post/1';
  assert.equal(pickImageUrl({ currentSrc: 'https://cdn.example/now.jpg', srcset: 'x.jpg 9000w', src: 'y.jpg' }, base),
    'https://cdn.example/now.jpg');
  assert.equal(pickImageUrl({ currentSrc: '', srcset: 's.jpg 320w, l.jpg 1280w', src: 'y.jpg' }, base),
    'https://feed.example/post/l.jpg');
  assert.equal(pickImageUrl({ src: '/img/a.png' }, base), 'https://feed.example/img/a.png');
  assert.equal(pickImageUrl({ src: 'data:image/png;base64,AAAA' }, base), 'data:image/png;base64,AAAA');
  assert.equal(pickImageUrl({ src: 'blob:https://feed.example/123' }, base), 'blob:https://feed.example/123');
  assert.equal(pickImageUrl({ src: 'javascript:alert(1)' }, base), null);
  assert.equal(isCheckableUrl('ftp://x/y.png'), false);
});

test('sites: feeds on by default, others off, overrides and pause win', () => {
  assert.equal(badgesEnabled('www.reddit.com', {}), true);
  assert.equal(badgesEnabled('old.reddit.com', {}), true);
  assert.equal(feedFor('notreddit.com'), null);
  assert.equal(badgesEnabled('news.example.org', {}), false);
  const on = toggleSite('news.example.org', {}, true);
  assert.equal(badgesEnabled('news.example.org', on), true);
  const off = toggleSite('x.com', {}, false);
  assert.equal(badgesEnabled('x.com', off), false);
  assert.equal(badgesEnabled('x.com', { paused: true }), false);
  assert.equal(badgesEnabled('x.com', { servicePaused: true }), false);
  assert.equal(badgesEnabled('x.com', { paused: false, servicePaused: false }), true);
});

test('badge: verdicts, user thresholds, transitions, presentation', () => {
  assert.equal(stateFor({ score: 0.9, verdict: 'likely_ai' }), 'ai');
  assert.equal(stateFor({ score: 0.5, verdict: 'uncertain' }), 'uncertain');
  assert.equal(stateFor({ error: { code: 'fetch_error' } }), 'error');
  assert.equal(stateFor({ score: 0.6, verdict: 'uncertain' }, { likelyAi: 0.55, likelyReal: 0.2 }), 'ai');
  assert.equal(transition('pending', 'ai'), 'ai');
  assert.equal(transition('ai', 'real'), 'ai');
  assert.equal(transition('ai', 'pending'), 'pending');
  assert.equal(present('real', { score: 0.1 }, {}).visible, false);
  assert.equal(present('real', { score: 0.1 }, { showReal: true }).visible, true);
  assert.equal(present('uncertain', { score: 0.5 }, {}).visible, false);
  assert.equal(present('uncertain', { score: 0.5 }, { showUncertain: true }).visible, true);
  assert.equal(present('uncertain', { score: 0.5 }, { showUncertain: false }).visible, false);
  assert.equal(present('ai', { score: 0.9 }, { showUncertain: false, showReal: false }).visible, true);
  const p = present('ai', { score: 0.93 }, {});
  assert.equal(p.visible, true);
  assert.match(p.ariaLabel, /likely AI \(P\(AI\) 0\.93\)/);
});

test('messages: validation', () => {
  assert.equal(validateMessage({ type: 'check', url: 'https://a/b.png' }).ok, true);
  assert.equal(validateMessage({ type: 'check', url: 'file:///etc/passwd' }).ok, false);
  assert.equal(validateMessage({ type: 'pair', code: '12ab56' }).ok, false);
  assert.equal(validateMessage({ type: 'nope' }).ok, false);
  assert.equal(validateMessage(null).ok, false);
  assert.equal(validateMessage({ type: 'saveSettings', settings: { serviceUrl: 'http://127.0.0.1:8765' } }).ok, true);
  assert.equal(validateMessage({ type: 'saveSettings', settings: { serviceUrl: 'https://evil.example' } }).ok, false);
});

test('messages: the service address must be on this computer', () => {
  for (const ok of ['http://127.0.0.1:8765', 'http://localhost:9000/', 'http://[::1]:8765', 'https://127.0.0.2:1']) {
    assert.equal(isServiceUrl(ok), true, ok);
  }
  for (const bad of ['http://127.0.0.1:43695http://127.0.0.1:8765', 'http://example.com:8765', 'ftp://127.0.0.1',
    'http://127.0.0.1:8765/api', 'http://user:pw@127.0.0.1:8765', 'http://127.0.0.1.evil.com', '', null]) {
    assert.equal(isServiceUrl(bad), false, String(bad));
  }
});

test('queue: batches, de-duplicates and caches', async () => {
  const calls = [];
  const q = new DetectQueue({ delayMs: 5, batchSize: 3, send: async (urls) => { calls.push(urls); return urls.map((u) => ({ url: u, score: 0.5 })); } });
  const urls = ['a', 'b', 'a', 'c', 'd', 'b'];
  const results = await Promise.all(urls.map((u) => q.check(u)));
  assert.deepEqual(results.map((r) => r.url), urls);
  assert.deepEqual(calls.flat().sort(), ['a', 'b', 'c', 'd']);
  assert.equal(calls.length, 2);
  await q.check('a');
  assert.equal(calls.length, 2);
  assert.equal(q.stats.cacheHits, 1);
});

test('queue: limits concurrency', async () => {
  let running = 0;
  let peak = 0;
  const q = new DetectQueue({ delayMs: 0, batchSize: 1, maxConcurrent: 2, send: async (urls) => {
    running += 1; peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 10));
    running -= 1;
    return urls.map(() => ({ score: 0.1 }));
  } });
  await Promise.all(['1', '2', '3', '4', '5'].map((u) => q.check(u)));
  assert.equal(peak, 2);
});

test('queue: backs off while the service is down, then recovers', async () => {
  let t = 0;
  let up = false;
  let sends = 0;
  const q = new DetectQueue({ delayMs: 0, now: () => t, minBackoffMs: 1000, send: async (urls) => {
    sends += 1;
    if (!up) throw new TypeError('Failed to fetch');
    return urls.map(() => ({ score: 0.7 }));
  } });
  await assert.rejects(q.check('x'), ServiceDownError);
  assert.equal(q.down, true);
  await assert.rejects(q.check('y'), ServiceDownError);
  assert.equal(sends, 1);
  t = 1500;
  up = true;
  assert.equal((await q.check('x')).score, 0.7);
  assert.equal(q.down, false);
});

test('describeCompression names the file coding for the card', () => {
  assert.equal(describeCompression({ state: 'jpeg', jpeg_quality: 90, chroma_subsampling: '4:2:0' }),
    'File: JPEG (quality ≈ 90, 4:2:0). JPEG compression hides some generation traces.');
  assert.equal(describeCompression({ state: 'lossless', format: 'PNG' }), 'File: lossless PNG.');
  assert.equal(describeCompression({ state: 'lossy-webp', format: 'WEBP' }), 'File: lossy WEBP. Lossy compression hides some generation traces.');
  assert.equal(describeCompression({ state: 'unknown' }), '');
  assert.equal(describeCompression(undefined), '');
});
