'use strict';
// Fuzzing (fast-check) of what the extension takes from untrusted places: messages from content
// scripts running in any page, and image URLs / srcset strings from the page's markup. CI runs a fixed
// seed; scripts/fuzz.sh sets FUZZ_RUNS for a long run with random seeds. A failure prints its seed and
// the shrunk counterexample: add that input to the regression list at the bottom.
const test = require('node:test');
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { validateMessage, isServiceUrl, TYPES } = require('../../src/lib/messages.js');
const { parseSrcset, pickImageUrl } = require('../../src/lib/srcset.js');

const LONG = Boolean(process.env.FUZZ_RUNS);
const OPTS = { numRuns: Number(process.env.FUZZ_RUNS || 20000), ...(LONG ? {} : { seed: 20261202 }) };
const LOOPBACK = new Set(['localhost', '[::1]']);

const anyValue = fc.anything({ withObjectString: true, withNullPrototype: true, withBigInt: true, withDate: true });
const message = fc.oneof(
  anyValue,
  fc.record({ type: fc.constantFrom(...TYPES) }, { requiredKeys: ['type'] }).chain((m) =>
    fc.dictionary(fc.constantFrom('url', 'dataUrl', 'key', 'code', 'settings', 'serviceUrl'), anyValue)
      .map((extra) => ({ ...extra, ...m }))),
  fc.record({
    type: fc.constantFrom('check', 'heatmap', 'checkBytes'),
    url: fc.oneof(fc.webUrl(), fc.string(), fc.constant('data:image/png;base64,AAAA')),
    dataUrl: fc.oneof(fc.string(), fc.constant('data:image/jpeg;base64,/9j/')),
    key: fc.string(),
  }),
  fc.record({
    type: fc.constant('saveSettings'),
    settings: fc.oneof(anyValue, fc.record({ serviceUrl: fc.oneof(fc.webUrl(), fc.string()) })),
  }),
);

function assertVerdict(out) {
  assert.equal(typeof out, 'object');
  assert.equal(typeof out.ok, 'boolean');
  if (!out.ok) assert.equal(typeof out.error, 'string');
}

test('fuzz: validateMessage never throws and accepts only well-formed messages', () => {
  fc.assert(fc.property(message, (m) => {
    const out = validateMessage(m);
    assertVerdict(out);
    if (!out.ok) return;
    assert.ok(TYPES.includes(m.type));
    if (m.type === 'check' || m.type === 'heatmap') assert.match(m.url, /^(https?:|data:image\/)/i);
    if (m.type === 'checkBytes') assert.match(m.dataUrl, /^data:image\//i);
    if (m.type === 'pair') assert.match(m.code, /^\d{6}$/);
    if (m.type === 'saveSettings' && m.settings.serviceUrl !== undefined) assert.ok(isServiceUrl(m.settings.serviceUrl));
  }), OPTS);
});

test('fuzz: isServiceUrl accepts only loopback addresses, whatever the string', () => {
  const candidates = fc.oneof(
    fc.string(),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.tuple(fc.constantFrom('http://', 'https://', 'ftp://', ''), fc.constantFrom('127.0.0.1', 'localhost', '[::1]',
      '127.1', '0x7f.1', 'localhost.evil.com', '127.0.0.1.nip.io', 'user:pw@127.0.0.1', '[::ffff:127.0.0.1]'),
    fc.constantFrom('', ':8765', ':0', ':99999'), fc.constantFrom('', '/', '/api', '?x', '#y', '//'))
      .map((parts) => parts.join('')),
  );
  fc.assert(fc.property(candidates, (url) => {
    if (!isServiceUrl(url)) return;
    const u = new URL(url);
    assert.ok(LOOPBACK.has(u.hostname) || /^127(\.\d{1,3}){3}$/.test(u.hostname), url);
    assert.ok(/^https?:$/.test(u.protocol) && !u.username && !u.password, url);
  }), OPTS);
});

test('fuzz: srcset parsing and image choice never throw on page markup', () => {
  const markup = fc.oneof(fc.string(), fc.array(fc.tuple(fc.oneof(fc.webUrl(), fc.string()),
    fc.constantFrom('', ' 2x', ' 640w', ' 0w', ' -1x', ' NaNw', ' 1e9w'))).map((c) => c.map((p) => p.join('')).join(', ')));
  fc.assert(fc.property(markup, fc.oneof(fc.string(), fc.webUrl()), fc.webUrl(), (srcset, src, base) => {
    const candidates = parseSrcset(srcset);
    assert.ok(Array.isArray(candidates));
    const picked = pickImageUrl({ currentSrc: '', srcset, src }, base);
    assert.ok(picked === null || picked === undefined || typeof picked === 'string');
  }), OPTS);
});
