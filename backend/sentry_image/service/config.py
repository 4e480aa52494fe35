"""Service settings with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ServiceConfig:
    """How the local service runs and what it accepts."""

    host: str = "127.0.0.1"
    port: int = 8765
    device: str = "auto"
    backend: str = "auto"
    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 50_000_000
    # CPU seconds one image may use in the request's thread (decode, pre-processing, provenance) before
    # the optional analyses are skipped; the model's own work is bounded by its tile cap.
    image_cpu_budget_s: float = 1.5
    max_batch: int = 64
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    client_concurrency: int = 4
    client_queue: int = 64
    threads: int = 8
    extra_origins: frozenset[str] = field(default_factory=frozenset)
    extra_hosts: frozenset[str] = field(default_factory=frozenset)
    thresholds: dict[str, float] = field(default_factory=dict)
