"""Single-image latency of the real service (waitress + Flask + the active model) on this machine.

    .venv/bin/python benchmarks/latency.py [--runs 20] [--model ID] [--backend auto|onnx|torch]

Starts the service in-process on a free loopback port, posts a 1024x1024 JPEG and a 512x512 PNG as raw
bodies (each a fresh image, so the cache never answers), and prints the medians of the service's own
timings (decode / model / provenance / total) and of the client-side round trip.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import threading
import time

import numpy as np
import requests
from PIL import Image
from waitress.server import create_server

from sentry_image.errors import SentryError
from sentry_image.registry.store import ModelStore
from sentry_image.service.app import create_app
from sentry_image.service.config import ServiceConfig


class PinnedStore(ModelStore):
    """The user's models with one of them active for this run only: their own choice is left as it is."""

    def __init__(self, model_id: str) -> None:
        super().__init__()
        self.get(model_id)  # an unknown id fails here, with the store's own message
        self.pinned = model_id

    def active_id(self) -> str:
        """The pinned model."""
        return self.pinned


def natural_image(rng: np.random.Generator, size: int) -> Image.Image:
    """A photo-like test image: smooth colour fields with fine noise."""
    base = rng.random((size // 32 + 1, size // 32 + 1, 3))
    img = Image.fromarray((base * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, 5, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--model", default=None)
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    args = parser.parse_args()
    try:
        store = PinnedStore(args.model) if args.model else ModelStore()
    except SentryError as exc:
        parser.error(exc.message)
    token = "b" * 43
    app = create_app(ServiceConfig(device="auto", backend=args.backend), token, store=store)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}/api/v1/detect"
    rng = np.random.default_rng(0)
    report = {
        "model": store.active_id(),
        "backend": None,
        "cpu_count": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "runs": args.runs,
        "cases": {},
    }
    for name, size, fmt in (("jpeg_1024", 1024, "JPEG"), ("png_512", 512, "PNG")):
        rows = []
        for i in range(args.runs + 2):
            buf = io.BytesIO()
            natural_image(rng, size).save(buf, format=fmt, quality=90)
            t0 = time.perf_counter()
            r = requests.post(
                url,
                data=buf.getvalue(),
                headers={"X-Sentry-Token": token, "Content-Type": f"image/{fmt.lower()}"},
                timeout=120,
            )
            wall = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            if i >= 2:  # two warm-up requests
                rows.append({**r.json()["results"][0]["timings_ms"], "client_round_trip": wall})
        report["cases"][name] = {k: round(statistics.median(row[k] for row in rows), 1) for k in rows[0]}
    health = requests.get(url.replace("/detect", "/health"), timeout=10).json()
    report.update(device=health["device"], backend=health["backend"])
    server.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
