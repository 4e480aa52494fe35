'use strict';
/* End-to-end in real headless Chromium (service worker background) against the real service. */
const test = require('node:test');
const fs = require('node:fs');
const path = require('node:path');
const { SHARED, launchChromium } = require('./helpers.js');
const { badgeFlow } = require('./badge-flow.js');

const skip = !fs.existsSync(path.join(SHARED, 'manifest.csv')) ? '../shared/data is not present'
  : !fs.existsSync('/usr/bin/chromium') ? '/usr/bin/chromium is not installed' : false;

test('extension in Chromium: pairing, badges, new images, card, disabled site, stopped service',
  { skip, timeout: 600000 }, () => badgeFlow(launchChromium));
