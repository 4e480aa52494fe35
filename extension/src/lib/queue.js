/* The background script's request discipline: every URL is checked once per session (results and
 * in-flight promises are shared), URLs are batched into one /detect call, few calls run at once,
 * and when the service is down the queue backs off instead of hammering it. */
(function (root) {
  'use strict';

  class ServiceDownError extends Error {
    constructor(message, retryInMs) {
      super(message);
      this.name = 'ServiceDownError';
      this.retryInMs = retryInMs;
    }
  }

  class DetectQueue {
    /**
     * @param {object} o
     * @param {(urls: string[]) => Promise<object[]>} o.send  posts a batch, resolves to results in order;
     *        rejects with {serviceDown: true} (or a TypeError from fetch) when the service is unreachable.
     */
    constructor(o) {
      this.send = o.send;
      this.batchSize = o.batchSize || 8;
      this.delayMs = o.delayMs ?? 40;
      this.maxConcurrent = o.maxConcurrent || 2;
      this.minBackoffMs = o.minBackoffMs || 1000;
      this.maxBackoffMs = o.maxBackoffMs || 60000;
      this.now = o.now || (() => Date.now());
      this.results = new Map();
      this.inflight = new Map();
      this.waiting = [];
      this.active = 0;
      this.timer = null;
      this.backoffMs = 0;
      this.downUntil = 0;
      this.stats = { requests: 0, urls: 0, cacheHits: 0 };
    }

    /** Resolve to the service's result for `url` (shared by every caller asking for the same URL). */
    check(url) {
      if (this.results.has(url)) {
        this.stats.cacheHits += 1;
        return Promise.resolve(this.results.get(url));
      }
      if (this.inflight.has(url)) return this.inflight.get(url);
      if (this.now() < this.downUntil) {
        return Promise.reject(new ServiceDownError('service not running', this.downUntil - this.now()));
      }
      const p = new Promise((resolve, reject) => this.waiting.push({ url, resolve, reject }));
      this.inflight.set(url, p);
      p.catch(() => {});
      this._schedule();
      return p;
    }

    /** Whether the service is considered down right now. */
    get down() {
      return this.now() < this.downUntil;
    }

    _schedule() {
      if (this.timer !== null) return;
      const run = () => {
        this.timer = null;
        this._pump();
      };
      this.timer = this.delayMs > 0 ? setTimeout(run, this.delayMs) : (queueMicrotask(run), 0);
    }

    _pump() {
      while (this.active < this.maxConcurrent && this.waiting.length) {
        const batch = this.waiting.splice(0, this.batchSize);
        this._sendBatch(batch);
      }
    }

    async _sendBatch(batch) {
      this.active += 1;
      this.stats.requests += 1;
      this.stats.urls += batch.length;
      try {
        const results = await this.send(batch.map((b) => b.url));
        this.backoffMs = 0;
        batch.forEach((b, i) => {
          const r = results[i] || { error: { code: 'missing', message: 'no result' } };
          this.results.set(b.url, r);
          this.inflight.delete(b.url);
          b.resolve(r);
        });
      } catch (err) {
        const down = (err && err.serviceDown) || err instanceof TypeError;
        if (down) {
          this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs ? this.backoffMs * 2 : this.minBackoffMs);
          this.downUntil = this.now() + this.backoffMs;
        }
        const error = down ? new ServiceDownError('service not running', this.backoffMs) : err;
        batch.forEach((b) => {
          this.inflight.delete(b.url);
          b.reject(error);
        });
        if (down) {
          // Whatever queued meanwhile fails fast too; it is retried when the page asks again later.
          this.waiting.splice(0).forEach((b) => {
            this.inflight.delete(b.url);
            b.reject(error);
          });
        }
      } finally {
        this.active -= 1;
        if (this.waiting.length) this._schedule();
      }
    }

    /** Forget cached results (e.g. after a model switch). */
    clear() {
      this.results.clear();
    }
  }

  const api = { DetectQueue, ServiceDownError };
  root.SentryQueue = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
