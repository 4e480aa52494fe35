/* One thin wrapper over the WebExtension API: Firefox's promise-based `browser`, else Chrome's `chrome`
 * (whose MV3 APIs return promises too). Everything else uses `SentryBrowser`. */
(function (root) {
  'use strict';
  root.SentryBrowser = typeof root.browser !== 'undefined' && root.browser.runtime ? root.browser : root.chrome;
})(globalThis);
