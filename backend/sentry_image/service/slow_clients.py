"""A deadline for receiving each request, which waitress lacks.

waitress closes a connection only after ``channel_timeout`` seconds *without any* bytes, so a client
that sends one header byte every few seconds (slow loris) holds a connection for as long as it likes,
and ``connection_limit`` of them lock everyone else out. Here every request must arrive whole (headers
and body) within ``deadline_s`` of its first byte, or its connection is closed. Uploads to the local
service travel over loopback and take milliseconds; the deadline only ever meets a stalling client.
"""

from __future__ import annotations

import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

REQUEST_DEADLINE_S = 20.0
CHECK_EVERY_S = 2.0  # how often waitress's maintenance runs (its cleanup_interval)


class DeadlineChannel(HTTPChannel):
    """An HTTP channel that remembers when the request it is receiving began."""

    request_started = 0.0

    def received(self, data: bytes) -> bool:
        if data and self.request is None:  # these bytes start a new request
            self.request_started = time.monotonic()
        return super().received(data)


def _close_stalled(server: BaseWSGIServer, deadline_s: float) -> None:
    """Extend the server's maintenance: also close channels whose request is overdue."""
    inherited = server.maintenance

    def maintenance(now: float) -> None:
        inherited(now)
        cutoff = time.monotonic() - deadline_s
        for channel in list(server.active_channels.values()):
            if channel.request is not None and getattr(channel, "request_started", cutoff) < cutoff:
                channel.will_close = True

    server.maintenance = maintenance  # type: ignore[method-assign]


def create_deadline_server(app: Any, deadline_s: float = REQUEST_DEADLINE_S, **adjustments: Any) -> Any:
    """``waitress.create_server`` whose connections must deliver each request within ``deadline_s``."""
    shared_map: dict[int, Any] = {}
    server = create_server(app, map=shared_map, cleanup_interval=CHECK_EVERY_S, **adjustments)
    for dispatcher in list(shared_map.values()):  # one listening server per address
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = DeadlineChannel
            _close_stalled(dispatcher, deadline_s)
    return server
