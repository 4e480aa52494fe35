/* Badge state machine and presentation. States: pending -> ai | uncertain | real | error; a feed badge
 * is shown for "ai" (and for "uncertain" or "real" when the user asks for them), never while pending.
 * "uncertain" is off by default: on feeds it is noise that teaches people to ignore the badges; a
 * right-click check still shows it in the card. */
(function (root) {
  'use strict';

  const LABELS = { ai: 'likely AI', uncertain: 'uncertain', real: 'likely real', error: 'not checked' };

  /** Map a verdict (with optional user thresholds overriding the service's) to a badge state. */
  function stateFor(result, thresholds) {
    if (!result || result.error || typeof result.score !== 'number') return 'error';
    const t = thresholds || {};
    if (typeof t.likelyAi === 'number' && typeof t.likelyReal === 'number') {
      if (result.score >= t.likelyAi) return 'ai';
      if (result.score <= t.likelyReal) return 'real';
      return 'uncertain';
    }
    return { likely_ai: 'ai', uncertain: 'uncertain', likely_real: 'real' }[result.verdict] || 'error';
  }

  /** Allowed transitions: only pending resolves; a resolved badge changes only by a new check. */
  function transition(current, next) {
    if (current === undefined || current === 'pending') return next;
    if (next === 'pending') return 'pending';
    return current;
  }

  /** What to draw: {visible, text, className, ariaLabel}. Options: showReal and showUncertain (both
   * off by default) pick which other verdicts get a badge; "likely AI" always does. */
  function present(state, result, options) {
    const o = options || {};
    const visible = state === 'ai' || (state === 'uncertain' && o.showUncertain === true)
      || (state === 'real' && Boolean(o.showReal));
    const score = result && typeof result.score === 'number' ? ` (P(AI) ${result.score.toFixed(2)})` : '';
    return {
      visible,
      text: LABELS[state] || '',
      className: `sentry-badge sentry-badge--${state}`,
      ariaLabel: `Sentry-Image: ${LABELS[state] || state}${score}. Press for details.`,
    };
  }

  /** One line on how the file was stored (the service's `compression` field), for the card: JPEG hides
   * some of the traces the pixel detector looks for, so the user should know. '' when unknown. */
  function describeCompression(c) {
    if (!c || !c.state || c.state === 'unknown') return '';
    if (c.state === 'jpeg') {
      const parts = [c.jpeg_quality ? `quality ≈ ${c.jpeg_quality}` : '', c.chroma_subsampling || ''].filter(Boolean);
      return `File: JPEG${parts.length ? ` (${parts.join(', ')})` : ''}. JPEG compression hides some generation traces.`;
    }
    if (c.state === 'lossless') return `File: lossless ${c.format || ''}`.trimEnd() + '.';
    return `File: lossy ${c.format || ''}`.trimEnd() + '. Lossy compression hides some generation traces.';
  }

  const api = { LABELS, stateFor, transition, present, describeCompression };
  root.SentryBadge = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
