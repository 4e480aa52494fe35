"""When the service hands freed memory back (``service.memory.HeapKeeper``): after a heavy request only
when the memory passed its bound, and once the service is idle; never after light requests."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import pytest

from conftest import auth, encode, generated_like
from sentry_image.service.memory import HeapKeeper, release_free_memory, resident_mb


class FakeHeap:
    """A resident size the test sets, and a trim that brings it down to ``live``."""

    def __init__(self, rss: float, live: float) -> None:
        self.rss, self.live, self.trims = rss, live, 0
        self.lock = threading.Lock()

    def trim(self) -> bool:
        with self.lock:
            self.trims += 1
            self.rss = self.live
        return True

    def resident(self) -> float:
        return self.rss


def keeper(heap: FakeHeap, idle_s: float = 60.0) -> HeapKeeper:
    return HeapKeeper(headroom_mb=100.0, idle_s=idle_s, trim=heap.trim, resident=heap.resident)


def wait_for(condition, seconds: float = 10.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_the_first_heavy_request_trims_and_sets_the_level() -> None:
    heap = FakeHeap(rss=300.0, live=200.0)
    k = keeper(heap)
    k.begin()
    k.end()
    assert heap.trims == 1 and k.level_mb == 200.0


def test_requests_within_the_headroom_do_not_trim_and_one_past_it_does() -> None:
    heap = FakeHeap(rss=300.0, live=200.0)
    k = keeper(heap)
    k.begin()
    k.end()
    for rss in (250.0, 299.0, 300.0):  # up to level + headroom: the freed pages are reused, kept
        heap.rss = rss
        k.begin()
        k.end()
    assert heap.trims == 1
    heap.rss = 300.5
    k.begin()
    k.end()
    assert heap.trims == 2 and heap.rss == 200.0


def test_a_trim_with_requests_in_flight_keeps_the_quiet_level() -> None:
    heap = FakeHeap(rss=300.0, live=200.0)
    k = keeper(heap)
    k.begin()
    k.end()
    k.begin()
    k.begin()
    heap.rss, heap.live = 400.0, 330.0  # the other request's memory is live while it runs
    k.end()
    assert heap.trims == 2 and k.level_mb == 200.0


def test_the_idle_trim_comes_once_nothing_is_in_flight() -> None:
    heap = FakeHeap(rss=300.0, live=200.0)
    k = keeper(heap, idle_s=0.05)
    k.begin()
    k.end()
    assert wait_for(lambda: heap.trims == 2)  # the bound's trim, then the idle one
    heap.rss, heap.live = 260.0, 210.0
    k.begin()
    k.end()
    assert heap.trims == 2  # within the headroom: no trim now ...
    assert wait_for(lambda: heap.trims == 3) and wait_for(lambda: k.level_mb == 210.0)  # ... but once idle


def test_no_idle_trim_while_a_request_is_in_flight() -> None:
    heap = FakeHeap(rss=300.0, live=200.0)
    k = keeper(heap, idle_s=0.05)
    k.begin()
    k.end()
    assert wait_for(lambda: heap.trims == 2)
    k.begin()  # a long request
    k.begin()
    heap.rss = 250.0
    k.end()  # another one ends beside it
    time.sleep(0.3)
    assert heap.trims == 2
    k.end()
    assert wait_for(lambda: heap.trims == 3)


def test_without_a_resident_size_every_heavy_request_trims() -> None:
    heap = FakeHeap(rss=300.0, live=200.0)
    k = HeapKeeper(headroom_mb=100.0, idle_s=60.0, trim=heap.trim, resident=lambda: None)
    for _ in range(3):
        k.begin()
        k.end()
    assert heap.trims == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc are Linux's")
def test_on_linux_the_real_trim_and_resident_size_work() -> None:
    rss = resident_mb()
    assert rss is not None and 10.0 < rss < 100_000.0
    other = resident_mb(os.getpid())  # the same reading, by process id (what the soak reads of the service)
    assert other is not None and abs(other - rss) < 50.0
    assert resident_mb(2**31 - 1) is None  # no such process
    assert release_free_memory() is True


def test_the_service_counts_detect_but_not_health(client) -> None:
    heap = FakeHeap(rss=300.0, live=200.0)
    k = client.application.extensions["sentry"]["heap"]
    k.trim, k.resident = heap.trim, heap.resident
    assert client.get("/api/v1/health").status_code == 200
    assert heap.trims == 0
    img = encode(generated_like(np.random.default_rng(0), 64))
    assert client.post("/api/v1/detect", data=img, headers=auth({"Content-Type": "image/png"})).status_code == 200
    assert heap.trims == 1 and k.level_mb == 200.0
    assert client.post("/api/v1/detect", data=b"not json", headers=auth()).status_code in (400, 415)
    assert heap.trims == 1  # a rejected heavy request is counted too, and within the headroom


def test_a_heavy_request_refused_before_the_route_still_ends(client) -> None:
    k = client.application.extensions["sentry"]["heap"]
    heap = FakeHeap(rss=300.0, live=200.0)
    k.trim, k.resident = heap.trim, heap.resident
    assert client.post("/api/v1/detect", data=b"x", headers={"Content-Type": "image/png"}).status_code == 401
    assert k._in_flight == 0  # noqa: SLF001 - the counter must not leak on a refusal


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_the_allocator_settings_take_effect() -> None:
    import subprocess

    code = "from sentry_image.service.memory import tune_allocator; print(tune_allocator())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
