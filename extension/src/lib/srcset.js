/* Choosing the URL to check for an <img>: the browser's own pick (currentSrc, which covers srcset,
 * <picture> and lazy loading once loaded), else the largest srcset candidate, else src. */
(function (root) {
  'use strict';

  /** Parse a srcset attribute into [{url, w, x}] (w and x are null when absent). */
  function parseSrcset(srcset) {
    if (!srcset || typeof srcset !== 'string') return [];
    const out = [];
    // URLs may contain commas (data: URLs); candidates are separated by ", " or ",\n" after a descriptor.
    const re = /\s*([^\s,][^\s]*?)(?:\s+(\d+(?:\.\d+)?)([wx]))?\s*(?:,|$)/g;
    let m;
    while ((m = re.exec(srcset)) !== null) {
      if (!m[1]) break;
      out.push({ url: m[1], w: m[3] === 'w' ? Number(m[2]) : null, x: m[3] === 'x' ? Number(m[2]) : null });
      if (re.lastIndex >= srcset.length) break;
    }
    return out;
  }

  /** The largest candidate of a srcset (by width, else density), or null. */
  function largestCandidate(srcset) {
    const c = parseSrcset(srcset);
    if (!c.length) return null;
    return c.reduce((best, cur) => ((cur.w || cur.x || 1) > (best.w || best.x || 1) ? cur : best)).url;
  }

  /** True for URLs the extension can check: http(s), data:image/..., blob:. */
  function isCheckableUrl(url) {
    return typeof url === 'string' && /^(https?:\/\/|data:image\/|blob:)/i.test(url);
  }

  /** The URL to check for an image-like record {currentSrc, src, srcset}, resolved against baseUrl. */
  function pickImageUrl(img, baseUrl) {
    const candidates = [img.currentSrc, largestCandidate(img.srcset), img.src];
    for (const c of candidates) {
      if (!c) continue;
      let url = c;
      try {
        if (!/^(data:|blob:)/i.test(c)) url = new URL(c, baseUrl).href;
      } catch (e) {
        continue;
      }
      if (isCheckableUrl(url)) return url;
    }
    return null;
  }

  const api = { parseSrcset, largestCandidate, isCheckableUrl, pickImageUrl };
  root.SentrySrcset = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
