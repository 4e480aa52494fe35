"""The real WSGI server: loopback binding and 50 concurrent requests all answered, nothing lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests

from conftest import TOKEN, encode, generated_like, photo_like, serving
from sentry_image.service.app import create_app
from sentry_image.service.config import ServiceConfig
from sentry_image.service.server import listen_addresses


def test_default_bind_is_loopback_only() -> None:
    addrs = listen_addresses(ServiceConfig(port=8765))
    assert addrs[0] == "127.0.0.1:8765"
    assert all(a.startswith(("127.0.0.1:", "[::1]:")) for a in addrs)


def test_non_loopback_bind_needs_explicit_flag(capsys) -> None:
    from sentry_image.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_fifty_concurrent_requests_all_answered(store_with_model) -> None:
    app = create_app(ServiceConfig(), TOKEN, store=store_with_model)
    rng = np.random.default_rng(11)
    images = [encode(photo_like(rng, 96), "JPEG") if i % 2 else encode(generated_like(rng, 96)) for i in range(50)]

    def post(data: bytes) -> tuple[int, dict]:
        r = requests.post(
            f"http://127.0.0.1:{port}/api/v1/detect",
            data=data,
            timeout=120,
            headers={"X-Sentry-Token": TOKEN, "Content-Type": "image/png"},
        )
        return r.status_code, r.json()

    with serving(app, threads=8) as port, ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, images))
    assert len(answers) == 50
    assert all(status == 200 for status, _ in answers), [s for s, _ in answers]
    scores = [body["results"][0]["score"] for _, body in answers]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len({body["results"][0]["sha256"] for _, body in answers}) == 50
