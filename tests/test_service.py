"""The HTTP API: contract, security checks and every bad-input case, on a real trained model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TOKEN, auth, encode, generated_like, photo_like
from http_fixtures import only, serve_routes
from sentry_image.service.app import create_app
from sentry_image.service.config import ServiceConfig
from sentry_image.service.fetch import SafeFetcher

RNG = np.random.default_rng(7)
JPEG = encode(photo_like(RNG, 96), "JPEG", quality=92)
PNG = encode(generated_like(RNG, 96))


def test_health_needs_no_token_and_names_the_model(client) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and body["ready"] and body["model"]["id"] == "tiny-npr"
    assert body["device"] in ("cpu", "cuda") and body["badges_paused"] is False


def test_detect_raw_body(client) -> None:
    r = client.post("/api/v1/detect", data=JPEG, headers=auth({"Content-Type": "image/jpeg"}))
    assert r.status_code == 200, r.get_json()
    (res,) = r.get_json()["results"]
    assert 0.0 <= res["score"] <= 1.0 and res["verdict"] in ("likely_ai", "uncertain", "likely_real")
    assert res["model"] == "tiny-npr" and len(res["sha256"]) == 64
    assert set(res["timings_ms"]) == {"fetch", "decode", "model", "provenance", "cpu", "total"}
    assert res["timings_ms"]["total"] >= res["timings_ms"]["model"] + res["timings_ms"]["provenance"]


def test_detect_multipart_batch_keeps_order(client) -> None:
    data = {"file": [(io.BytesIO(JPEG), "a.jpg"), (io.BytesIO(b"garbage"), "b.png"), (io.BytesIO(PNG), "c.png")]}
    r = client.post("/api/v1/detect", data=data, headers=auth(), content_type="multipart/form-data")
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [x["source"] for x in results] == ["a.jpg", "b.png", "c.png"]
    assert results[1]["error"]["code"] == "decode_error" and results[1]["score"] is None
    assert results[0]["score"] is not None and results[2]["score"] is not None


def test_scores_come_from_the_model(client) -> None:
    """Same bytes, same score; different images, different scores: nothing is made up."""
    a1 = client.post("/api/v1/detect", data=JPEG, headers=auth({"Content-Type": "image/jpeg"})).get_json()
    a2 = client.post("/api/v1/detect", data=JPEG, headers=auth({"Content-Type": "image/jpeg"})).get_json()
    b = client.post("/api/v1/detect", data=PNG, headers=auth({"Content-Type": "image/png"})).get_json()
    assert a1["results"][0]["score"] == a2["results"][0]["score"]
    assert a2["results"][0].get("cached") is True
    assert a1["results"][0]["score"] != b["results"][0]["score"]


def test_detect_url_and_cache(store_with_model) -> None:
    with serve_routes({"/a.png": (200, {"Content-Type": "image/png"}, PNG)}) as base:
        app = create_app(ServiceConfig(), TOKEN, store=store_with_model, fetcher=SafeFetcher(policy=only("127.0.0.2")))
        c = app.test_client()
        first = c.post("/api/v1/detect", json={"url": base + "/a.png"}, headers=auth({"Host": "localhost:8765"}))
        assert first.status_code == 200, first.get_json()
        second = c.post("/api/v1/detect", json={"urls": [base + "/a.png"]}, headers=auth({"Host": "localhost:8765"}))
    r1, r2 = first.get_json()["results"][0], second.get_json()["results"][0]
    assert r1["timings_ms"]["fetch"] > 0 and r2["cached"] is True and r1["score"] == r2["score"]


@pytest.mark.parametrize(
    "url, status, code",
    [
        ("http://127.0.0.1:8765/api/v1/health", 403, "forbidden_url"),
        ("http://10.0.0.1/a.png", 403, "forbidden_url"),
        ("http://169.254.169.254/latest/meta-data/", 403, "forbidden_url"),
        ("http://[::1]/a.png", 403, "forbidden_url"),
        ("file:///etc/passwd", 403, "forbidden_url"),
    ],
)
def test_detect_refuses_private_urls(client, url: str, status: int, code: str) -> None:
    r = client.post("/api/v1/detect", json={"url": url}, headers=auth())
    assert r.status_code == status
    assert r.get_json()["results"][0]["error"]["code"] == code


def test_detect_redirect_to_private_non_image_and_unreachable(store_with_model) -> None:
    routes = {
        "/r": (302, {"Location": "http://127.0.0.1:9/x.png"}, b""),
        "/page": (200, {"Content-Type": "text/html"}, b"<html></html>"),
    }
    with serve_routes(routes) as base:
        app = create_app(ServiceConfig(), TOKEN, store=store_with_model, fetcher=SafeFetcher(policy=only("127.0.0.2")))
        c = app.test_client()
        h = auth({"Host": "127.0.0.1:8765"})
        redirect = c.post("/api/v1/detect", json={"url": base + "/r"}, headers=h)
        page = c.post("/api/v1/detect", json={"url": base + "/page"}, headers=h)
    gone = c.post("/api/v1/detect", json={"url": base + "/r"}, headers=h)  # server stopped: unreachable
    assert redirect.status_code == 403 and redirect.get_json()["results"][0]["error"]["code"] == "forbidden_url"
    assert page.status_code == 502 and "not an image" in page.get_json()["results"][0]["error"]["message"]
    assert gone.status_code == 502 and gone.get_json()["results"][0]["error"]["code"] == "fetch_error"


def test_missing_and_wrong_token(client) -> None:
    assert client.post("/api/v1/detect", data=JPEG, content_type="image/jpeg").status_code == 401
    r = client.post("/api/v1/detect", data=JPEG, headers={"X-Sentry-Token": "wrong", "Content-Type": "image/jpeg"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/models").status_code == 401
    ok = client.post(
        "/api/v1/detect", data=JPEG, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/jpeg"}
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example.com", "evil.example.com:8765", "192.168.1.5:8765", "", "localhost.evil.com"]
)
def test_spoofed_host_is_refused(client, host: str) -> None:
    r = client.get("/api/v1/health", headers={"Host": host})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "bad_host"


@pytest.mark.parametrize("host", ["localhost:8765", "127.0.0.1:8765", "[::1]:8765", "localhost"])
def test_loopback_hosts_are_accepted(client, host: str) -> None:
    assert client.get("/api/v1/health", headers={"Host": host}).status_code == 200


def test_foreign_origin_is_refused_and_gets_no_cors(client) -> None:
    r = client.post(
        "/api/v1/detect", data=JPEG, headers=auth({"Origin": "https://evil.example.com", "Content-Type": "image/jpeg"})
    )
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "bad_origin"
    assert "Access-Control-Allow-Origin" not in r.headers
    pre = client.options(
        "/api/v1/detect", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert pre.headers.get("Access-Control-Allow-Origin") is None


def test_extension_origin_gets_cors_never_wildcard(client) -> None:
    origin = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    pre = client.options(
        "/api/v1/detect",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Sentry-Token",
        },
    )
    assert pre.headers["Access-Control-Allow-Origin"] == origin
    r = client.post(
        "/api/v1/detect", data=JPEG, headers=auth({"Origin": "moz-extension://1234-abcd", "Content-Type": "image/jpeg"})
    )
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "moz-extension://1234-abcd"


def test_bad_inputs(client) -> None:
    h = auth()
    assert (
        client.post("/api/v1/detect", data="{not json", headers=h, content_type="application/json").status_code == 400
    )
    assert client.post("/api/v1/detect", json=[1, 2], headers=h).status_code == 400
    assert client.post("/api/v1/detect", json={"urls": []}, headers=h).status_code == 400
    assert client.post("/api/v1/detect", json={"url": 5}, headers=h).status_code == 400
    r = client.post("/api/v1/detect", data="hello", headers=h, content_type="text/plain")
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "unsupported_media_type"
    r = client.post("/api/v1/detect", data=b"\x89PNG\r\n\x1a\n" + b"\0" * 50, headers=h, content_type="image/png")
    assert r.status_code == 422 and r.get_json()["results"][0]["error"]["code"] == "decode_error"
    assert client.post("/api/v1/detect", json={"urls": ["http://x.invalid/a.png"] * 65}, headers=h).status_code == 400
    assert client.post("/api/v1/detect", data=b"", headers=h, content_type="image/png").status_code == 422


def test_truncated_and_bomb_uploads(client) -> None:
    from PIL import Image

    truncated = JPEG[: len(JPEG) // 2]
    r = client.post("/api/v1/detect", data=truncated, headers=auth({"Content-Type": "image/jpeg"}))
    assert r.status_code == 422
    bomb = encode(Image.new("1", (20000, 20000)), "PNG", optimize=True)
    r = client.post("/api/v1/detect", data=bomb, headers=auth({"Content-Type": "image/png"}))
    assert r.status_code == 413 and r.get_json()["results"][0]["error"]["code"] == "too_large"


def test_oversize_upload(store_with_model) -> None:
    app = create_app(ServiceConfig(max_bytes=10_000), TOKEN, store=store_with_model)
    c = app.test_client()
    h = auth({"Host": "127.0.0.1"})
    big = encode(photo_like(np.random.default_rng(3), 256), "PNG")
    assert len(big) > 10_000
    r = c.post(
        "/api/v1/detect", data={"file": (io.BytesIO(big), "big.png")}, headers=h, content_type="multipart/form-data"
    )
    assert r.status_code == 413
    r = c.post("/api/v1/detect", data=big * 6, headers={**h, "Content-Type": "image/png"})
    assert r.status_code == 413


def test_no_model_gives_503_never_a_score(sentry_home: Path, empty_builtin: Path) -> None:
    from sentry_image.registry.store import ModelStore

    app = create_app(ServiceConfig(), TOKEN, store=ModelStore(builtin_dir=empty_builtin))
    c = app.test_client()
    h = auth({"Host": "127.0.0.1"})
    health = c.get("/api/v1/health", headers=h).get_json()
    assert health["ready"] is False and health["model"] is None
    r = c.post("/api/v1/detect", data=JPEG, headers={**h, "Content-Type": "image/jpeg"})
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "no_model"
    assert "score" not in r.get_data(as_text=True)


def test_models_endpoints(client) -> None:
    body = client.get("/api/v1/models", headers=auth()).get_json()
    assert body["active"] == "tiny-npr" and body["models"][0]["architecture"] == "npr"
    assert client.put("/api/v1/models/active", json={"id": "tiny-npr"}, headers=auth()).status_code == 200
    r = client.put("/api/v1/models/active", json={"id": "nope"}, headers=auth())
    assert r.status_code == 400 and "no installed model" in r.get_json()["error"]["message"]
    assert client.put("/api/v1/models/active", json={}, headers=auth()).status_code == 400


def test_pairing_flow(client) -> None:
    assert client.post("/api/v1/pair", json={"request_code": True}).status_code == 401
    code = client.post("/api/v1/pair", json={"request_code": True}, headers=auth()).get_json()["code"]
    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/api/v1/pair", json={"code": wrong}).status_code == 403
    r = client.post("/api/v1/pair", json={"code": code})
    assert r.status_code == 200 and r.get_json()["token"] == TOKEN
    assert client.post("/api/v1/pair", json={"code": code}).status_code == 403  # one use only
    assert client.post("/api/v1/pair", data="{", content_type="application/json").status_code == 400


def test_pairing_code_dies_after_repeated_wrong_guesses(client) -> None:
    code = client.post("/api/v1/pair", json={"request_code": True}, headers=auth()).get_json()["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/api/v1/pair", json={"code": wrong})
    assert client.post("/api/v1/pair", json={"code": code}).status_code == 403


def test_full_queue_gives_429(client) -> None:
    limiter = client.application.extensions["sentry"]["limiter"]
    limiter.concurrent, limiter.queued = 1, 0
    with limiter.slot("127.0.0.1"):
        r = client.post("/api/v1/detect", data=JPEG, headers=auth({"Content-Type": "image/jpeg"}))
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_busy"
    assert client.post("/api/v1/detect", data=JPEG, headers=auth({"Content-Type": "image/jpeg"})).status_code == 200


def test_unknown_route_is_json_404(client) -> None:
    r = client.get("/api/v1/nope", headers=auth())
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert json.loads(client.get("/api/v1/openapi.json").data)["openapi"].startswith("3.1")


def test_heatmap_overlay(client) -> None:
    from PIL import Image

    big = encode(generated_like(np.random.default_rng(9), 192), "PNG")
    r = client.post("/api/v1/heatmap", data=big, headers=auth({"Content-Type": "image/png"}))
    assert r.status_code == 200 and r.mimetype == "image/png"
    overlay = Image.open(io.BytesIO(r.data))
    assert overlay.size == (192, 192)
    assert client.post("/api/v1/heatmap", data=b"junk", headers=auth({"Content-Type": "image/png"})).status_code == 422
    two = {"file": [(io.BytesIO(big), "a.png"), (io.BytesIO(big), "b.png")]}
    assert (
        client.post("/api/v1/heatmap", data=two, headers=auth(), content_type="multipart/form-data").status_code == 400
    )
    assert client.post("/api/v1/heatmap", data=big, content_type="image/png").status_code == 401


def test_heatmap_marks_the_generated_half(trained_model_dir) -> None:
    """On an image that is half 'photo', half 'generated', the generated side's tiles score higher."""
    from PIL import Image

    from sentry_image.engine.detector import Detector
    from sentry_image.engine.heatmap import heatmap_boxes, tile_scores

    rng = np.random.default_rng(12)
    img = Image.new("RGB", (256, 128))
    img.paste(photo_like(rng, 128), (0, 0))
    img.paste(generated_like(rng, 128), (128, 0))
    boxes, scores = tile_scores(Detector.from_folder(trained_model_dir, device="cpu"), img)
    left = [s for b, s in zip(boxes, scores, strict=True) if b[2] <= 128]
    right = [s for b, s in zip(boxes, scores, strict=True) if b[0] >= 128]
    assert left and right and np.mean(right) > np.mean(left)
    wide = heatmap_boxes(1000, 300, 224)
    assert len(wide) <= 256 and max(b[2] for b in wide) == 1000 and max(b[3] for b in wide) == 300


def test_paths_outside_the_api_point_to_it_never_a_token_error(client) -> None:
    # A newcomer's first guess, http://127.0.0.1:8765/health, answered 401 "missing or wrong pairing token".
    health = client.get("/health")
    assert health.status_code == 200 and health.get_json() == client.get("/api/v1/health").get_json()
    assert client.get("/").get_json()["health"] == "/api/v1/health"
    lost = client.get("/detect")
    assert lost.status_code == 404 and "/api/v1/health" in lost.get_json()["error"]["message"]
    assert client.get("/health", headers={"Host": "evil.example"}).status_code == 403  # Host check still first
    assert client.get("/api/v1/models", headers={"X-Sentry-Token": ""}).status_code == 401
