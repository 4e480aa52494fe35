"""The Flask application: the /api/v1 endpoints and the checks every request passes first."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

from sentry_image import __version__
from sentry_image.engine.decode import decode_image
from sentry_image.engine.device import cuda_available
from sentry_image.engine.heatmap import render_heatmap, tile_scores
from sentry_image.errors import ImageTooLargeError, ModelError, SentryError, UnsupportedMediaError
from sentry_image.probe.detector import missing_backbone
from sentry_image.registry.store import ModelStore
from sentry_image.service.cache import ResultCache
from sentry_image.service.config import ServiceConfig
from sentry_image.service.detect import Item, run_detection
from sentry_image.service.fetch import SafeFetcher
from sentry_image.service.limits import ClientLimiter
from sentry_image.service.memory import HeapKeeper
from sentry_image.service.models_state import ActiveDetector
from sentry_image.service.pairing import PairingCodes, tokens_match
from sentry_image.service.security import (
    EXTENSION_ORIGIN,
    host_is_loopback,
    origin_allowed,
    token_from_headers,
)
from sentry_image.settings import load_settings

API = "/api/v1"
PUBLIC_PATHS = {f"{API}/health", f"{API}/pair", f"{API}/openapi.json"}
HEAVY_PATHS = {f"{API}/detect", f"{API}/heatmap"}


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def create_app(
    config: ServiceConfig, token: str, store: ModelStore | None = None, fetcher: SafeFetcher | None = None
) -> Flask:
    """Build the app. ``token`` is the pairing token every protected request must present."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_bytes * 4 + 1024 * 1024
    store = store or ModelStore()
    active = ActiveDetector(store, device=config.device, backend=config.backend, thresholds=config.thresholds)
    fetcher = fetcher or SafeFetcher(config.max_bytes, config.connect_timeout, config.read_timeout)
    cache = ResultCache()
    limiter = ClientLimiter(config.client_concurrency, config.client_queue)
    codes = PairingCodes()
    heap = HeapKeeper()
    app.extensions["sentry"] = {
        "active": active,
        "cache": cache,
        "codes": codes,
        "store": store,
        "limiter": limiter,
        "heap": heap,
    }

    @app.before_request  # first, so that every heavy request that starts also ends (teardown below)
    def count_heavy_request() -> None:
        if request.path in HEAVY_PATHS:
            heap.begin()

    CORS(
        app,
        resources={f"{API}/*": {"origins": [EXTENSION_ORIGIN, *sorted(config.extra_origins)]}},
        allow_headers=["Content-Type", "X-Sentry-Token", "Authorization"],
        methods=["GET", "POST", "PUT"],
        max_age=600,
    )

    @app.before_request
    def check_request() -> Any:
        if not host_is_loopback(request.headers.get("Host"), config.extra_hosts):
            return _error(403, "bad_host", "Host header must name this machine (localhost)")
        if not origin_allowed(request.headers.get("Origin"), config.extra_origins):
            return _error(403, "bad_origin", "requests from web pages are not accepted; use the extension")
        if request.method == "OPTIONS" or request.path in PUBLIC_PATHS or not request.path.startswith(f"{API}/"):
            return None  # outside the API there is nothing but pointers to it: no token needed
        if not tokens_match(token_from_headers(request.headers), token):
            return _error(
                401,
                "unauthorized",
                "missing or wrong pairing token (X-Sentry-Token header); pair with `sentry-image pair`",
            )
        return None

    @app.teardown_request
    def hand_back_memory(_exc: BaseException | None) -> None:
        if request.path in HEAVY_PATHS:
            heap.end()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = {413: "too_large", 404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(
            exc.code or 500, "http_error"
        )
        message = exc.description or exc.name
        if exc.code == 404 and not request.path.startswith(f"{API}/"):
            message = f"no such path: the API lives under {API} (health check: GET {API}/health)"
        return _error(exc.code or 500, code, message)

    @app.get("/")
    def root() -> Any:
        return jsonify({"service": "sentry-image", "version": __version__, "api": API, "health": f"{API}/health"})

    @app.errorhandler(SentryError)
    def sentry_error(exc: SentryError) -> Any:
        return _error(exc.http_status, exc.code, exc.message)

    @app.get("/health")  # where people look first; the same answer as the API's own
    @app.get(f"{API}/health")
    def health() -> Any:
        reason = None
        try:
            installed = store.active()
            model: dict[str, Any] | None = installed.summary()
            reason = missing_backbone(installed.card)
        except SentryError as exc:
            model, reason = None, exc.message
        device = "cuda" if (config.device in ("auto", "cuda") and cuda_available()) else "cpu"
        return jsonify(
            {
                "status": "ok",
                "version": __version__,
                "device": device,
                "backend": active.loaded_backend(),
                "model": model,
                "ready": reason is None,
                **({"reason": reason} if reason else {}),
                "badges_paused": bool(load_settings().get("badges_paused")),
            }
        )

    @app.get(f"{API}/openapi.json")
    def openapi() -> Any:
        text = resources.files("sentry_image.service").joinpath("openapi.json").read_text(encoding="utf-8")
        return Response(text, mimetype="application/json")

    @app.get(f"{API}/models")
    def models() -> Any:
        return jsonify({"active": store.active_id(), "models": [m.summary() for m in store.list()]})

    @app.put(f"{API}/models/active")
    def set_active() -> Any:
        body = _json_body()
        model_id = body.get("id")
        if not isinstance(model_id, str):
            raise ModelError('body must be {"id": "<model id>"}')
        active.switch(model_id)
        cache.clear()
        return jsonify({"active": model_id})

    @app.post(f"{API}/pair")
    def pair() -> Any:
        body = _json_body()
        if body.get("request_code") is True:
            if not tokens_match(token_from_headers(request.headers), token):
                return _error(401, "unauthorized", "only a client holding the token can issue pairing codes")
            code, ttl = codes.new_code()
            return jsonify({"code": code, "expires_in": ttl})
        code = body.get("code")
        if not isinstance(code, str) or not code.isdigit():
            return _error(400, "bad_request", 'body must be {"code": "123456"}')
        if not codes.redeem(code):
            return _error(403, "bad_code", "pairing code is wrong or expired; get a new one with `sentry-image pair`")
        return jsonify({"token": token})

    @app.post(f"{API}/detect")
    def detect() -> Any:
        detector = active.get()  # NoModelError -> 503 before any work
        items = _collect_items(config)
        with limiter.slot(_client_id()):
            results = run_detection(items, detector, fetcher, cache, config.max_pixels, config.image_cpu_budget_s)
        status = 200
        if len(results) == 1 and "error" in results[0]:
            status = results[0]["_status"]
        for r in results:
            r.pop("_status", None)
        return jsonify({"model": detector.model_id, "results": results}), status

    @app.post(f"{API}/heatmap")
    def heatmap() -> Any:
        detector = active.get()
        items = _collect_items(config)
        if len(items) != 1:
            raise SentryError("send exactly one image for a heatmap")
        item = items[0]
        if item.error is not None:
            raise item.error
        with limiter.slot(_client_id()):  # the fetch counts against the client's slots, as in /detect
            data = item.data if item.data is not None else fetcher.fetch(str(item.url)).data
            img = decode_image(data, max_pixels=config.max_pixels)
            boxes, scores = tile_scores(detector, img)
        return Response(render_heatmap(img, boxes, scores), mimetype="image/png")

    return app


def _client_id() -> str:
    """Who a request counts against for the concurrency limit: the extension's origin, else the peer."""
    return request.headers.get("Origin") or request.remote_addr or "local"


def _json_body() -> dict[str, Any]:
    if not request.data:
        return {}
    try:
        body = json.loads(request.data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SentryError(f"malformed JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SentryError("JSON body must be an object")
    return body


def _collect_items(config: ServiceConfig) -> list[Item]:
    ctype = (request.mimetype or "").lower()
    items: list[Item] = []
    if ctype == "application/json":
        body = _json_body()
        urls = body.get("urls") if "urls" in body else ([body["url"]] if "url" in body else None)
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise SentryError('JSON body must be {"url": "..."} or {"urls": ["...", ...]}')
        items = [Item(id=str(i), source=u, url=u) for i, u in enumerate(urls)]
    elif ctype == "multipart/form-data":
        files = [f for key in request.files for f in request.files.getlist(key)]
        if not files:
            raise SentryError("multipart request has no file parts")
        for i, f in enumerate(files):
            data = f.read(config.max_bytes + 1)
            items.append(Item(id=str(i), source=f.filename or f"file-{i}", data=data))
    elif ctype.startswith("image/") or ctype == "application/octet-stream":
        items = [Item(id="0", source="body", data=request.get_data(cache=False))]
    else:
        raise UnsupportedMediaError(
            f"unsupported content type {ctype or 'none'!r}: send JSON, multipart or an image body"
        )
    if len(items) > config.max_batch:
        raise SentryError(f"at most {config.max_batch} images per request")
    for item in items:
        if item.data is not None and len(item.data) > config.max_bytes:
            item.data = None
            item.error = ImageTooLargeError(f"{item.source}: over the {config.max_bytes:,}-byte limit")
    return items
