"""Freed memory is handed back once heavy requests are over, not after each one (a trim makes the next
request fault its pages back in)."""

from __future__ import annotations

import time

import numpy as np

from conftest import auth, encode, generated_like
from sentry_image.service.memory import IdleTrimmer


def wait_for(predicate, timeout: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_trims_once_after_a_quiet_moment() -> None:
    trimmer = IdleTrimmer(quiet_s=0.1)
    for _ in range(5):  # a burst: no trim between its requests
        trimmer.begin()
        trimmer.end()
    assert trimmer.trims == 0
    assert wait_for(lambda: trimmer.trims == 1)
    time.sleep(0.3)
    assert trimmer.trims == 1  # once per quiet spell


def test_no_trim_while_a_request_is_in_flight() -> None:
    trimmer = IdleTrimmer(quiet_s=0.05)
    trimmer.begin()
    trimmer.begin()
    trimmer.end()  # one of two is over: the other still runs
    time.sleep(0.2)
    assert trimmer.trims == 0
    trimmer.end()
    assert wait_for(lambda: trimmer.trims == 1)


def test_a_request_starting_during_the_quiet_moment_postpones_the_trim() -> None:
    trimmer = IdleTrimmer(quiet_s=0.2)
    trimmer.begin()
    trimmer.end()
    time.sleep(0.1)
    trimmer.begin()  # cancels the pending trim
    time.sleep(0.25)
    assert trimmer.trims == 0
    trimmer.end()
    assert wait_for(lambda: trimmer.trims == 1)


def test_the_service_trims_after_detect_but_not_after_health(client) -> None:
    trimmer = client.application.extensions["sentry_trimmer"]
    trimmer.quiet_s = 0.05
    assert client.get("/api/v1/health").status_code == 200
    time.sleep(0.2)
    assert trimmer.trims == 0
    img = encode(generated_like(np.random.default_rng(0), 64))
    r = client.post("/api/v1/detect", data=img, headers=auth({"Content-Type": "image/png"}))
    assert r.status_code == 200
    assert wait_for(lambda: trimmer.trims == 1)
