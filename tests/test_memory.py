"""Freed memory is handed back after each heavy request (/detect, /heatmap), not after light ones."""

from __future__ import annotations

import numpy as np

from conftest import auth, encode, generated_like


def test_the_service_trims_after_detect_but_not_after_health(client, monkeypatch) -> None:
    trims = []
    monkeypatch.setattr("sentry_image.service.app.release_free_memory", lambda: trims.append(1))
    assert client.get("/api/v1/health").status_code == 200
    assert trims == []
    img = encode(generated_like(np.random.default_rng(0), 64))
    assert client.post("/api/v1/detect", data=img, headers=auth({"Content-Type": "image/png"})).status_code == 200
    assert trims == [1]
