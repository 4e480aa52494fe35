/* Content script: finds images worth checking, asks the background for verdicts, draws badges in an
 * overlay layer (never inside the page's layout) and shows a detail card. */
(function () {
  'use strict';
  if (globalThis.__sentryImageLoaded) return;
  globalThis.__sentryImageLoaded = true;
  const B = globalThis.SentryBrowser;
  const { pickImageUrl } = globalThis.SentrySrcset;
  const { badgesEnabled } = globalThis.SentrySites;
  const Badge = globalThis.SentryBadge;

  const tracked = new WeakMap(); // img -> {state, result, badge}
  const badges = new Set();
  const counts = { checked: 0, ai: 0, uncertain: 0, real: 0, error: 0 };
  let settings = null;
  let enabled = false;
  let lastContextTarget = null;
  let layer = null;

  function send(msg) {
    return B.runtime.sendMessage(msg);
  }

  function ensureLayer() {
    if (layer && layer.isConnected) return layer;
    layer = document.createElement('div');
    layer.id = 'sentry-image-layer';
    layer.setAttribute('aria-live', 'polite');
    document.documentElement.appendChild(layer);
    return layer;
  }

  function place(el, img, corner) {
    const r = img.getBoundingClientRect();
    let x = corner === 'card' ? r.left + window.scrollX : r.right + window.scrollX - el.offsetWidth - 6;
    // A card stays inside the window even for images at its right edge.
    if (corner === 'card') x = Math.min(x, window.scrollX + document.documentElement.clientWidth - el.offsetWidth - 8);
    const y = corner === 'card' ? r.bottom + window.scrollY + 6 : r.top + window.scrollY + 6;
    el.style.transform = `translate(${Math.max(0, Math.round(x))}px, ${Math.max(0, Math.round(y))}px)`;
    el.hidden = r.width === 0 || r.height === 0;
  }

  let rafPending = false;
  function repositionAll() {
    if (rafPending) return;
    rafPending = true;
    requestAnimationFrame(() => {
      rafPending = false;
      for (const b of badges) {
        if (!b.img.isConnected) {
          b.el.remove();
          badges.delete(b);
        } else {
          place(b.el, b.img, 'badge');
        }
      }
      if (card && card.img) place(card.el, card.img, 'card');
    });
  }

  function reportCounts() {
    send({ type: 'tabCounts', counts: { ...counts, enabled } }).catch(() => {});
  }

  async function resultFor(img) {
    const url = pickImageUrl(img, document.baseURI);
    if (!url) return { error: { code: 'no_url', message: 'this image has no checkable URL' } };
    if (url.startsWith('blob:')) return send({ type: 'checkBytes', dataUrl: await blobUrlToDataUrl(url), key: url });
    return send({ type: 'check', url });
  }

  /** A page's blob: URL only resolves in the page, so its bytes travel as a data: URL. */
  async function blobUrlToDataUrl(url) {
    const blob = await fetch(url).then((r) => r.blob());
    return new Promise((resolve, reject) => {
      const fr = new FileReader();
      fr.onload = () => resolve(fr.result);
      fr.onerror = () => reject(fr.error);
      fr.readAsDataURL(blob);
    });
  }

  function drawBadge(img, entry) {
    img.dataset.sentryVerdict = entry.state; // a hook for page styles and tests; no layout change
    const view = Badge.present(entry.state, entry.result, { showReal: settings.showReal, showUncertain: settings.showUncertain });
    if (!view.visible) {
      if (entry.badge) entry.badge.el.hidden = true;
      return;
    }
    if (!entry.badge) {
      const el = document.createElement('button');
      el.type = 'button';
      el.addEventListener('click', (ev) => {
        ev.preventDefault();
        ev.stopPropagation();
        openCard(img);
      });
      ensureLayer().appendChild(el);
      entry.badge = { el, img };
      badges.add(entry.badge);
    }
    const el = entry.badge.el;
    el.className = view.className;
    el.textContent = view.text;
    el.setAttribute('aria-label', view.ariaLabel);
    el.title = view.ariaLabel;
    el.dataset.score = entry.result && typeof entry.result.score === 'number' ? String(entry.result.score) : '';
    place(el, img, 'badge');
  }

  async function checkImage(img, force) {
    let entry = tracked.get(img);
    if (entry && !force && entry.state !== 'error') return entry;
    entry = entry || { state: undefined };
    entry.state = Badge.transition(entry.state, 'pending');
    tracked.set(img, entry);
    const reply = await resultFor(img).catch((e) => ({ error: { code: 'error', message: String(e) } }));
    entry.result = reply.result || reply;
    entry.serviceError = reply.error || null;
    entry.state = Badge.transition('pending', Badge.stateFor(reply.result || null, settings.thresholds));
    counts.checked += 1;
    counts[entry.state] = (counts[entry.state] || 0) + 1;
    reportCounts();
    drawBadge(img, entry);
    if (card && card.img === img) renderCard(img, entry);
    return entry;
  }

  function bigEnough(img) {
    const r = img.getBoundingClientRect();
    return r.width >= settings.minSize && r.height >= settings.minSize;
  }

  const visibility = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      const img = e.target;
      if (!img.complete) {
        img.addEventListener('load', () => { if (bigEnough(img)) checkImage(img); }, { once: true });
        continue;
      }
      if (bigEnough(img)) {
        visibility.unobserve(img);
        checkImage(img);
      }
    }
  }, { rootMargin: '200px' });

  function watch(root) {
    if (root.tagName === 'IMG') visibility.observe(root);
    if (root.querySelectorAll) root.querySelectorAll('img').forEach((img) => visibility.observe(img));
  }

  const mutations = new MutationObserver((records) => {
    for (const r of records) {
      r.addedNodes.forEach((n) => { if (n.nodeType === 1) watch(n); });
      if (r.type === 'attributes' && r.target.tagName === 'IMG') {
        // A new src/srcset is a new image: drop the old verdict and its badge, check again when visible.
        const old = tracked.get(r.target);
        if (old && old.badge) {
          old.badge.el.remove();
          badges.delete(old.badge);
        }
        tracked.delete(r.target);
        visibility.observe(r.target);
      }
    }
  });

  // ---- detail card ----
  let card = null;

  function closeCard() {
    if (card) card.el.remove();
    card = null;
  }

  function renderCard(img, entry) {
    const el = card.el;
    el.textContent = '';
    const head = document.createElement('div');
    head.className = 'sentry-card__head';
    const title = document.createElement('strong');
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'sentry-card__close';
    close.textContent = '×';
    close.setAttribute('aria-label', 'Close');
    close.addEventListener('click', closeCard);
    head.append(title, close);
    el.appendChild(head);
    const body = document.createElement('div');
    el.appendChild(body);
    if (!entry || entry.state === 'pending' || entry.state === undefined) {
      title.textContent = 'Sentry-Image: checking…';
      return;
    }
    const r = entry.result || {};
    if (entry.serviceError) {
      title.textContent = 'Sentry-Image: not checked';
      body.textContent = entry.serviceError.code === 'service_down'
        ? 'The Sentry-Image service is not running on this computer.'
        : entry.serviceError.message;
      return;
    }
    if (r.error) {
      title.textContent = 'Sentry-Image: not checked';
      body.textContent = r.error.message;
      return;
    }
    title.textContent = `Sentry-Image: ${Badge.LABELS[entry.state]}`;
    el.dataset.verdict = entry.state;
    const score = document.createElement('p');
    score.className = 'sentry-card__score';
    score.textContent = `P(AI) ${r.score.toFixed(2)} · pixel detector ${Number(r.pixel_score).toFixed(2)} · model ${r.model}`;
    const why = document.createElement('p');
    why.textContent = r.explanation || '';
    body.append(score, why);
    const file = Badge.describeCompression(r.compression);
    if (file) {
      const line = document.createElement('p');
      line.className = 'sentry-card__file';
      line.textContent = file;
      body.appendChild(line);
    }
    if (Array.isArray(r.evidence) && r.evidence.length) {
      const list = document.createElement('ul');
      r.evidence.slice(0, 5).forEach((e) => {
        const li = document.createElement('li');
        li.textContent = `${e.source}: ${e.detail}`;
        list.appendChild(li);
      });
      body.appendChild(list);
    }
    const details = document.createElement('button');
    details.type = 'button';
    details.className = 'sentry-card__details';
    details.textContent = 'Show heatmap';
    details.addEventListener('click', async () => {
      details.disabled = true;
      let url = pickImageUrl(img, document.baseURI);
      if (url.startsWith('blob:')) url = await blobUrlToDataUrl(url).catch(() => url);
      const hm = await send({ type: 'heatmap', url }).catch(() => null);
      if (hm && hm.dataUrl) {
        const pic = document.createElement('img');
        pic.src = hm.dataUrl;
        pic.alt = 'Heatmap: red tiles look AI-generated, green tiles look real';
        pic.className = 'sentry-card__heatmap';
        body.appendChild(pic);
        details.hidden = true;
      } else {
        details.textContent = 'Heatmap unavailable';
      }
    });
    body.appendChild(details);
  }

  async function openCard(img) {
    closeCard();
    const el = document.createElement('div');
    el.className = 'sentry-card';
    el.setAttribute('role', 'dialog');
    el.setAttribute('aria-label', 'Sentry-Image verdict');
    ensureLayer().appendChild(el);
    card = { el, img };
    renderCard(img, tracked.get(img));
    place(el, img, 'card');
    const entry = await checkImage(img, false);
    if (card && card.img === img) {
      renderCard(img, entry);
      place(el, img, 'card');
    }
  }

  document.addEventListener('contextmenu', (e) => {
    lastContextTarget = e.target && e.target.tagName === 'IMG' ? e.target : null;
  }, true);
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeCard(); });
  window.addEventListener('scroll', repositionAll, { passive: true, capture: true });
  window.addEventListener('resize', repositionAll, { passive: true });

  B.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
    if (msg && msg.type === 'showCard') {
      const img = lastContextTarget || Array.from(document.images).find((i) => i.currentSrc === msg.srcUrl || i.src === msg.srcUrl);
      if (img) openCard(img);
      sendResponse({ ok: Boolean(img) });
    } else if (msg && msg.type === 'getCounts') {
      sendResponse({ ...counts, enabled });
    }
    return false;
  });

  async function start() {
    settings = await send({ type: 'settings' });
    enabled = badgesEnabled(location.hostname, settings);
    reportCounts();
    if (!enabled) return;
    watch(document);
    mutations.observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ['src', 'srcset'] });
  }

  globalThis.__sentryImage = { openCard, checkImage };
  start();
})();
