"""Hand freed memory back to the system once heavy requests are over.

glibc keeps memory that threads have freed in per-thread arenas; with eight server threads each
decoding images and building tile batches, the service's resident memory grew to about 930 MB after
180 requests although the live data stays under 200 MB. ``malloc_trim(0)`` returns those free pages
(measured: about 150 MB resident after the same load, see reports/README.md). Trimming has a price: the
next request faults the pages back in (a 1024² JPEG's model step took 40 ms instead of 31 ms right after
a trim), so ``IdleTrimmer`` trims only when no heavy request has been in flight for a moment, not after
each one. Where the C library is not glibc (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
import threading

M_ARENA_MAX = -8  # mallopt parameter (malloc.h)


@functools.cache
def _malloc_trim():  # noqa: ANN202
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


@functools.cache
def limit_arenas(count: int = 2) -> bool:
    """Let all threads share ``count`` glibc malloc arenas (glibc makes up to 8 per core, and memory
    freed in one arena cannot serve another): less fragmentation for a little allocator contention.
    Call once, before the server's threads start; True where it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False


def release_free_memory() -> bool:
    """Return freed heap memory to the operating system; True where the C library supports it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class IdleTrimmer:
    """Calls ``release_free_memory`` once no heavy request has been in flight for ``quiet_s`` seconds."""

    def __init__(self, quiet_s: float = 0.5) -> None:
        self.quiet_s = quiet_s
        self._lock = threading.Lock()
        self._in_flight = 0
        self._timer: threading.Timer | None = None
        self.trims = 0  # how many times memory was handed back (for tests and diagnostics)

    def begin(self) -> None:
        """A heavy request starts: no trimming while it runs."""
        with self._lock:
            self._in_flight += 1
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def end(self) -> None:
        """A heavy request is over: trim after ``quiet_s`` unless another one starts first."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if self._in_flight == 0 and self._timer is None:
                self._timer = threading.Timer(self.quiet_s, self._trim_if_idle)
                self._timer.daemon = True
                self._timer.start()

    def _trim_if_idle(self) -> None:
        with self._lock:
            if self._in_flight or self._timer is not threading.current_thread():
                return  # a request started, or a newer timer took over
            self._timer = None
            self.trims += 1
        release_free_memory()
