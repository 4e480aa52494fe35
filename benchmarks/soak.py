"""Soak test: the real service (``sentry-image serve``, waitress on 127.0.0.1, the built-in model) under
several clients at once for a while, mixing valid, invalid, oversized and slow (slow-loris) requests.

Pass criteria, checked at the end and written to ``reports/soak/`` (JSON, markdown, memory plot):
- every request gets an answer, with the status its kind expects (nothing lost, no 5xx);
- ``/health`` p99 latency < 200 ms throughout;
- resident memory with no request in flight (the clients pause for a reading after the warm-up, the first
  fifth of the run, and at the end) grows by at most 10%.

    .venv/bin/python benchmarks/soak.py --seconds 600          # the full soak
    .venv/bin/python benchmarks/soak.py --seconds 60 --out DIR # the CI version (tests/test_soak.py)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import requests
from PIL import Image

from sentry_image.service.memory import IDLE_S, resident_mb

ROOT = Path(__file__).resolve().parents[1]
HEALTH_P99_MS = 200.0
MAX_GROWTH = 0.10
# What each kind of request may be answered with; anything else (or no answer) fails the soak.
EXPECTED = {
    "valid": {200, 429},
    "invalid_image": {422, 429},
    "short_jpeg": {422, 429},
    "wrong_type": {415},
    "bad_json": {400},
    "private_url": {403, 429},
    "no_token": {401},
    "bad_origin": {403},
    "too_many_pixels": {413, 429},
    "too_many_bytes": {413},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc); NaN where it cannot be read."""
    mb = resident_mb(pid)
    return float("nan") if mb is None else mb


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def photo(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A cheap photo-like image: smooth gradients plus noise."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 // w), (y * 255 // h), ((x + y) * 127 // (w + h))], axis=-1)
    return Image.fromarray((base + rng.normal(0, 12, (h, w, 3))).clip(0, 255).astype(np.uint8))


def short_jpeg() -> bytes:
    """The reported amplification case: a small JPEG whose header claims 288 x 45,344 pixels."""
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 288, 3), dtype=np.uint8))
    data = bytearray(encode(noise, "JPEG", quality=75))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 7] = (45344).to_bytes(2, "big")
    return bytes(data)


class Soak:
    """Runs the service and the clients, and keeps every observation."""

    def __init__(self, seconds: float, out: Path, clients: int) -> None:
        self.seconds = seconds
        self.out = out
        self.clients = clients
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.home = Path(tempfile.mkdtemp(prefix="sentry-soak-"))
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers: dict[str, Counter] = defaultdict(Counter)
        self.failures: list[str] = []
        self.health_ms: list[tuple[float, float]] = []
        self.memory: list[tuple[float, float]] = []
        self.slowloris_closed = 0
        self.quiet = threading.Event()  # set: clients hold their next request (a memory reading)
        self.inflight = 0
        self.quiet_rss: dict[str, float] = {}
        self.t0 = 0.0

    # --- service -------------------------------------------------------------------------------
    def start_service(self) -> subprocess.Popen:
        env = {**os.environ, "SENTRY_IMAGE_HOME": str(self.home)}
        cli = str(Path(sys.executable).with_name("sentry-image"))
        proc = subprocess.Popen(
            [cli, "serve", "--port", str(self.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/health", timeout=2).json().get("backend"):
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"service exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.2)
        self.token = (self.home / "token").read_text().strip()
        return proc

    # --- clients -------------------------------------------------------------------------------
    def record(self, kind: str, status: int | str) -> None:
        with self.lock:
            self.answers[kind][status] += 1
            if status not in EXPECTED[kind]:
                self.failures.append(f"{time.monotonic() - self.t0:.1f}s {kind}: {status}")

    def post(self, kind: str, path: str = "detect", **kw: object) -> None:
        headers = {"X-Sentry-Token": self.token, **kw.pop("headers", {})}  # type: ignore[arg-type]
        while True:  # wait out a memory reading; checked and counted under one lock, so none slips in
            with self.lock:
                if not self.quiet.is_set() or self.stop.is_set():
                    self.inflight += 1
                    break
            time.sleep(0.05)
        try:
            r = requests.post(f"{self.base}/{path}", headers=headers, timeout=120, **kw)  # type: ignore[arg-type]
            self.record(kind, r.status_code)
        except requests.RequestException as exc:
            self.record(kind, f"no answer: {type(exc).__name__}")
        finally:
            with self.lock:
                self.inflight -= 1

    def read_quiet_rss(self, pid: int, label: str) -> None:
        """Resident memory with no request in flight: what the service keeps between requests. In-flight
        requests swing single samples by +-100 MB, too much for a 10% bound."""
        with self.lock:
            self.quiet.set()
        try:
            deadline = time.monotonic() + 150
            while self.inflight and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(IDLE_S + 0.5)  # the service trims once idle for IDLE_S: read what it keeps
            samples = []
            for _ in range(5):
                samples.append(rss_mb(pid))
                time.sleep(0.2)
            self.quiet_rss[label] = sorted(samples)[2]
            self.quiet_rss[label + "_t"] = time.monotonic() - self.t0
        finally:
            self.quiet.clear()

    def valid_client(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        fixed = [encode(photo(rng, 320, 240), "JPEG", quality=90) for _ in range(8)]  # repeats hit the cache
        while not self.stop.is_set():
            if rng.random() < 0.5:
                data = fixed[int(rng.integers(len(fixed)))]
            else:
                w, h = int(rng.integers(96, 1024)), int(rng.integers(96, 1024))
                fmt = "JPEG" if rng.random() < 0.6 else "PNG"
                data = encode(
                    photo(rng, w, h), fmt, **({"quality": int(rng.integers(60, 98))} if fmt == "JPEG" else {})
                )
            ctype = "image/jpeg" if data[:2] == b"\xff\xd8" else "image/png"
            self.post("valid", data=data, headers={"Content-Type": ctype})

    def invalid_client(self, seed: int) -> None:
        rng = random.Random(seed)
        good = encode(photo(np.random.default_rng(seed), 200, 150), "JPEG")
        pixels = encode(Image.new("L", (8000, 8000)), "PNG", optimize=True)  # 64 MP over the 50 MP cap
        jpeg, png, js = "image/jpeg", "image/png", "application/json"
        cases: list[tuple[str, bytes, dict[str, str]]] = [
            ("invalid_image", good[: len(good) // 2], {"Content-Type": jpeg}),
            ("short_jpeg", SHORT, {"Content-Type": jpeg}),
            ("wrong_type", b"hello", {"Content-Type": "text/plain"}),
            ("bad_json", b"{not json", {"Content-Type": js}),
            ("private_url", json.dumps({"url": "http://192.168.1.1/a.png"}).encode(), {"Content-Type": js}),
            ("no_token", good, {"X-Sentry-Token": "", "Content-Type": jpeg}),
            ("bad_origin", good, {"Origin": "https://evil.example", "Content-Type": jpeg}),
            ("too_many_pixels", pixels, {"Content-Type": png}),
        ]
        while not self.stop.is_set():
            kind, data, headers = rng.choice(cases)
            self.post(kind, data=data, headers=headers)
            time.sleep(0.05)

    def oversized_client(self) -> None:
        big = os.urandom(25 * 1024 * 1024 + 1)  # one byte over the per-image limit
        while not self.stop.wait(5.0):
            self.post("too_many_bytes", data=big, headers={"Content-Type": "image/jpeg"})

    def slowloris_client(self, connections: int = 12) -> None:
        """Connections that send a request a byte at a time and never finish it."""
        socks: list[socket.socket] = []
        request = f"POST /api/v1/detect HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Length: 100000\r\n".encode()
        sent: dict[socket.socket, int] = {}
        while not self.stop.is_set():
            while len(socks) < connections:
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                except OSError:
                    break
                socks.append(s)
                sent[s] = 0
            for s in list(socks):
                try:
                    s.send(request[sent[s] % len(request) : sent[s] % len(request) + 1])
                    sent[s] += 1
                except OSError:  # the server gave up on it: that is the point
                    socks.remove(s)
                    s.close()
                    self.slowloris_closed += 1
            self.stop.wait(2.0)
        for s in socks:
            s.close()

    def health_poller(self) -> None:
        while not self.stop.wait(0.25):
            t = time.perf_counter()
            try:
                ok = requests.get(f"{self.base}/health", timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            ms = (time.perf_counter() - t) * 1000.0
            with self.lock:
                self.health_ms.append((time.monotonic() - self.t0, ms))
                if not ok:
                    self.failures.append(f"{time.monotonic() - self.t0:.1f}s /health failed")

    def memory_sampler(self, pid: int) -> None:
        while not self.stop.wait(0.25):
            self.memory.append((time.monotonic() - self.t0, rss_mb(pid)))

    # --- run -----------------------------------------------------------------------------------
    def run(self) -> dict:
        proc = self.start_service()
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.valid_client, args=(i,), daemon=True) for i in range(self.clients)]
        threads += [
            threading.Thread(target=self.invalid_client, args=(99,), daemon=True),
            threading.Thread(target=self.oversized_client, daemon=True),
            threading.Thread(target=self.slowloris_client, daemon=True),
            threading.Thread(target=self.health_poller, daemon=True),
            threading.Thread(target=self.memory_sampler, args=(proc.pid,), daemon=True),
        ]
        for t in threads:
            t.start()
        try:
            warm = self.seconds / 5
            self.stop.wait(warm)
            self.read_quiet_rss(proc.pid, "after_warm_up")
            self.stop.wait(max(0.0, self.seconds - (time.monotonic() - self.t0)))
            self.read_quiet_rss(proc.pid, "end")
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=150)
            alive = proc.poll() is None
            proc.terminate()
            proc.wait(timeout=30)
        if not alive:
            self.failures.append("the service died during the soak")
        return self.summary()

    def summary(self) -> dict:
        baseline, end = self.quiet_rss.get("after_warm_up", float("nan")), self.quiet_rss.get("end", float("nan"))
        growth = end / baseline - 1.0
        health = sorted(ms for _, ms in self.health_ms)
        p99 = health[min(len(health) - 1, int(0.99 * len(health)))] if health else float("inf")
        answered = {k: dict(v) for k, v in self.answers.items()}
        total = sum(sum(v.values()) for v in self.answers.values())
        checks = {
            "every request answered as expected": not self.failures,
            f"/health p99 < {HEALTH_P99_MS:.0f} ms": p99 < HEALTH_P99_MS,
            f"memory growth after warm-up <= {MAX_GROWTH:.0%}": growth <= MAX_GROWTH,
        }
        return {
            "seconds": self.seconds,
            "valid_clients": self.clients,
            "requests": total,
            "answers_by_kind": answered,
            "failures": self.failures[:50],
            "health": {
                "count": len(health),
                "p50_ms": round(health[len(health) // 2], 1) if health else None,
                "p99_ms": round(p99, 1),
                "max_ms": round(health[-1], 1) if health else None,
            },
            "memory_mb": {
                "after_warm_up": round(baseline, 1),
                "end": round(end, 1),
                "peak": round(max(m for _, m in self.memory), 1),
                "growth": round(growth, 4),
            },
            "slowloris_connections_closed_by_server": self.slowloris_closed,
            "checks": checks,
            "passed": all(checks.values()),
            "memory_curve": [(round(t, 1), round(m, 1)) for t, m in self.memory],
            "health_curve": [(round(t, 1), round(ms, 1)) for t, ms in self.health_ms],
            "quiet_rss": {k: round(v, 1) for k, v in self.quiet_rss.items()},
            "command": " ".join(["benchmarks/soak.py", *sys.argv[1:]]),
            "cpu_count": os.cpu_count(),
        }


SHORT = short_jpeg()


def write_report(result: dict, out: Path) -> None:
    """soak.json, soak.md and memory.png under ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    t, m = zip(*result["memory_curve"], strict=True) if result["memory_curve"] else ((), ())
    ax1.plot(t, m)
    for label, marker in (("after_warm_up", "o"), ("end", "s")):
        if f"{label}_t" in result["quiet_rss"]:
            ax1.plot(
                [result["quiet_rss"][f"{label}_t"]],
                [result["quiet_rss"][label]],
                marker,
                color="red",
                label=f"no request in flight ({label.replace('_', ' ')})",
            )
    ax1.set_ylabel("service RSS (MB)")
    ax1.legend()
    if result["health_curve"]:
        ht, hms = zip(*result["health_curve"], strict=True)
        ax2.plot(ht, hms, ".", markersize=3)
    ax2.set_xlabel("seconds")
    ax2.set_ylabel("/health latency (ms)")
    ax2.axhline(HEALTH_P99_MS, color="red", linestyle=":", label="p99 limit")
    ax2.legend()
    fig.suptitle(f"Soak: {result['requests']:,} requests in {result['seconds']:.0f} s")
    fig.tight_layout()
    fig.savefig(out / "memory.png", dpi=100)
    rows = "\n".join(
        f"| {kind} | {sum(c.values()):,} | {', '.join(f'{k}: {v:,}' for k, v in sorted(c.items(), key=str))} |"
        for kind, c in sorted(result["answers_by_kind"].items())
    )
    checks = "\n".join(f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in result["checks"].items())
    h, mem = result["health"], result["memory_mb"]
    (out / "soak.md").write_text(
        f"# Soak: {result['seconds']:.0f} s, {result['valid_clients']} valid clients + invalid, oversized, "
        f"slow-loris, health and memory pollers ({result['cpu_count']} CPUs)\n\n"
        f"Command: `{result['command']}`\n\n{checks}\n\n"
        f"/health: {h['count']} probes, p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms, max {h['max_ms']} ms.  \n"
        f"Memory with no request in flight (clients paused for a reading): {mem['after_warm_up']} MB after the "
        f"warm-up, {mem['end']} MB at the end "
        f"({mem['growth']:+.1%}), peak {mem['peak']} MB.  \n"
        f"Slow-loris connections closed by the server: {result['slowloris_connections_closed_by_server']}.\n\n"
        f"| kind | requests | answers |\n|---|---|---|\n{rows}\n",
        encoding="utf-8",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--clients", type=int, default=3, help="clients sending valid images (default 3)")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "soak")
    args = ap.parse_args()
    result = Soak(args.seconds, args.out, args.clients).run()
    write_report(result, args.out)
    print((args.out / "soak.md").read_text(encoding="utf-8"))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
