'use strict';
/* Firefox ESR loads the packaged Firefox build (event page background) over WebDriver BiDi.
 * The full badge flow runs in chromium.test.js; driving it in Firefox needs the options page, and
 * BiDi refuses to navigate to moz-extension:// pages (see the README's extension section). */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { REPO } = require('./helpers.js');

const haveFirefox = fs.existsSync('/usr/bin/firefox-esr');

test('Firefox ESR installs the Firefox package', { skip: haveFirefox ? false : '/usr/bin/firefox-esr is not installed', timeout: 120000 }, async () => {
  const puppeteer = require('puppeteer-core');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sentry-ff-'));
  execFileSync(path.join(REPO, '.venv', 'bin', 'python'), [path.join(REPO, 'build_scripts', 'build_extension.py'), '--out', out]);
  const zip = fs.readdirSync(out).find((f) => f.startsWith('sentry-image-firefox-'));
  const dir = path.join(out, 'firefox');
  execFileSync(path.join(REPO, '.venv', 'bin', 'python'), ['-m', 'zipfile', '-e', path.join(out, zip), dir]);
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true });
  try {
    const id = await browser.installExtension(dir);
    assert.equal(id, 'sentry-image@sentry-image.local');
  } finally {
    await browser.close();
  }
});
