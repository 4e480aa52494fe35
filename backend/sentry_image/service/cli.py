"""``sentry-image serve`` and ``sentry-image pair``."""

from __future__ import annotations

import argparse
import errno
import logging
import sys

import requests

from sentry_image.atomic_files import remove_leftovers
from sentry_image.engine.cli import add_runtime_flags, add_threshold_flags, threshold_overrides
from sentry_image.paths import data_dir
from sentry_image.service.config import ServiceConfig
from sentry_image.service.pairing import load_or_create_token

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_service_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``serve`` and ``pair``."""
    p = sub.add_parser("serve", help="run the local detection service (waitress, loopback only)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1", help="bind address (non-loopback needs --allow-remote)")
    p.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    add_runtime_flags(p)
    p.add_argument("--allowed-origin", action="append", default=[], help="extra allowed Origin (repeatable)")
    p.add_argument("--threads", type=int, default=8)
    add_threshold_flags(p)
    p.set_defaults(func=run_serve)

    q = sub.add_parser("pair", help="show a one-time code that pairs the browser extension")
    q.add_argument("--port", type=int, default=8765)
    q.add_argument("--show-token", action="store_true", help="print the token itself instead of a code")
    q.set_defaults(func=run_pair)


def run_serve(args: argparse.Namespace) -> int:
    """Start the service in the foreground."""
    from sentry_image.service.server import listen_addresses, port_holder, run_server

    if args.host not in LOOPBACK and not args.allow_remote:
        print(
            f"error: refusing to bind {args.host}: the service is for this machine only. "
            "Pass --allow-remote to bind it anyway (the pairing token is still required).",
            file=sys.stderr,
        )
        return 2
    try:
        thresholds = threshold_overrides(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    extra_hosts = frozenset() if args.host in LOOPBACK else frozenset({args.host})
    config = ServiceConfig(
        host=args.host,
        port=args.port,
        device=args.device,
        backend=args.backend,
        threads=args.threads,
        extra_origins=frozenset(args.allowed_origin),
        extra_hosts=extra_hosts,
        thresholds=thresholds,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from sentry_image.registry.store import ModelStore

    store = ModelStore()
    store.clean_leftovers()
    remove_leftovers(data_dir())
    active = store.active_id()
    print(f"Sentry-Image service on {', '.join('http://' + a for a in listen_addresses(config))}", file=sys.stderr)
    print(f"active model: {active or 'none installed (/detect answers 503)'}", file=sys.stderr)
    print("pair the browser extension with: sentry-image pair", file=sys.stderr)
    try:
        run_server(config)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"error: port {config.port} is already in use by {port_holder(config.port)}", file=sys.stderr)
        return 1
    return 0


def run_pair(args: argparse.Namespace) -> int:
    """Ask the running service for a pairing code and print it."""
    token = load_or_create_token()
    if args.show_token:
        print(token)
        return 0
    try:
        resp = requests.post(
            f"http://127.0.0.1:{args.port}/api/v1/pair",
            json={"request_code": True},
            headers={"X-Sentry-Token": token},
            timeout=5,
        )
    except requests.RequestException:
        print(
            f"error: the service is not running on port {args.port}; start it with `sentry-image serve`",
            file=sys.stderr,
        )
        return 1
    if resp.status_code != 200:
        print(f"error: the service refused: {resp.text}", file=sys.stderr)
        return 1
    body = resp.json()
    print(
        f"Pairing code: {body['code']}  (valid {body['expires_in'] // 60} minutes; enter it in the "
        "extension's options page)"
    )
    return 0
