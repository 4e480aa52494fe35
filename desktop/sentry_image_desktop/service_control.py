"""Find, start and stop the local service, and talk to it with the pairing token."""

from __future__ import annotations

import collections
import os
import subprocess
import threading
import time
from typing import Any

import requests

from sentry_image.launch import command_line
from sentry_image.service.pairing import load_or_create_token


class ServiceController:
    """The service on ``port``: one this app started (a child process) or one already running."""

    def __init__(self, port: int = 8765) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.proc: subprocess.Popen | None = None
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        self._lock = threading.Lock()

    @property
    def token(self) -> str:
        """The pairing token shared with the service (same data folder)."""
        return load_or_create_token()

    def health(self) -> dict[str, Any] | None:
        """The service's /health answer, or None when nothing answers."""
        try:
            r = requests.get(f"{self.base}/health", timeout=2)
            return r.json() if r.ok else None
        except requests.RequestException:
            return None

    @property
    def started_here(self) -> bool:
        """Whether this app owns the running service process."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 120.0) -> dict[str, Any]:
        """Start the service unless one already answers; wait until it does."""
        with self._lock:
            if self.health() is not None:
                return {"ok": True, "already_running": True}
            cmd = command_line("serve", "--port", str(self.port))
            self.proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            threading.Thread(target=self._pump_log, daemon=True).start()
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return {"ok": False, "error": "the service exited: " + " | ".join(list(self.log)[-3:])}
                if self.health() is not None:
                    return {"ok": True, "already_running": False}
                time.sleep(0.3)
            return {"ok": False, "error": "the service did not answer in time"}

    def _pump_log(self) -> None:
        proc = self.proc
        if proc is None or proc.stdout is None:
            return
        for line in proc.stdout:
            self.log.append(line.rstrip())

    def stop(self) -> dict[str, Any]:
        """Stop the service if this app started it; a service started elsewhere is left alone."""
        with self._lock:
            if not self.started_here:
                running = self.health() is not None
                return {
                    "ok": not running,
                    "error": "the running service was not started by this app" if running else None,
                }
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            return {"ok": True}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An authenticated request to the service API."""
        headers = {"X-Sentry-Token": self.token, **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.base}{path}", headers=headers, timeout=kwargs.pop("timeout", 120), **kwargs
        )
