"""Run the app under waitress, bound to loopback (127.0.0.1 and ::1) unless told otherwise."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading

from sentry_image.service.app import create_app
from sentry_image.service.config import ServiceConfig
from sentry_image.service.memory import tune_allocator
from sentry_image.service.pairing import load_or_create_token
from sentry_image.service.slow_clients import create_deadline_server

log = logging.getLogger("sentry_image.service")


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def listen_addresses(config: ServiceConfig) -> list[str]:
    """The waitress ``listen`` entries for this configuration."""
    if config.host in ("127.0.0.1", "localhost"):
        addrs = [f"127.0.0.1:{config.port}"]
        if _ipv6_loopback_available():
            addrs.append(f"[::1]:{config.port}")
        return addrs
    host = f"[{config.host}]" if ":" in config.host else config.host
    return [f"{host}:{config.port}"]


def warm_up(app) -> None:  # noqa: ANN001
    """Load the model and the provenance libraries before the first request needs them (~1.5 s)."""
    from PIL import Image

    from sentry_image.errors import SentryError
    from sentry_image.provenance.analyze import analyze_provenance

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (128, 128, 128)).save(buf, format="PNG")
    analyze_provenance(buf.getvalue())
    with contextlib.suppress(SentryError):  # no model installed: /detect will say so
        app.extensions["sentry"]["active"].get()


def run_server(config: ServiceConfig) -> None:
    """Serve until interrupted."""
    tune_allocator()
    token = load_or_create_token()
    app = create_app(config, token)
    listen = listen_addresses(config)
    server = create_deadline_server(  # binds now: a taken port fails here, before any model is loading
        app,
        listen=" ".join(listen),
        threads=config.threads,
        ident="sentry-image",
        channel_timeout=60,
        connection_limit=200,
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
    )
    # Leaving Python while ONNX Runtime builds a session in another thread aborts the process
    # ("terminate called without an active exception", exit -6): the warm-up starts only once the
    # port is ours, and a stop (Ctrl-C) during it waits for it to end.
    warming = threading.Thread(target=warm_up, args=(app,), daemon=True, name="warm-up")
    warming.start()
    log.info("serving on %s", ", ".join(listen))
    try:
        server.run()
    finally:
        warming.join(timeout=60)


def port_holder(port: int) -> str:
    """Who holds ``port`` on loopback, in words: another Sentry-Image service (asked through its public
    /health) or some other program."""
    import requests

    try:
        body = requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).json()
    except (requests.RequestException, ValueError):
        body = None
    if isinstance(body, dict) and body.get("status") == "ok" and "version" in body:
        model = (body.get("model") or {}).get("id", "no model")
        return (
            f"another Sentry-Image service (version {body['version']}, model {model}): use that one, "
            "or stop it first, or pass --port"
        )
    return "another program; pass --port to use a different one"
