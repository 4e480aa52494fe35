'use strict';
/* End-to-end in Firefox ESR (event page background, the packaged Firefox build) against the real service. */
const test = require('node:test');
const fs = require('node:fs');
const path = require('node:path');
const { SHARED, launchFirefox } = require('./helpers.js');
const { badgeFlow } = require('./badge-flow.js');

const skip = !fs.existsSync(path.join(SHARED, 'manifest.csv')) ? '../shared/data is not present'
  : !fs.existsSync('/usr/bin/firefox-esr') ? '/usr/bin/firefox-esr is not installed' : false;

test('extension in Firefox ESR: pairing, badges, new images, context menu card, disabled site, stopped service',
  { skip, timeout: 600000 }, () => badgeFlow(launchFirefox));
