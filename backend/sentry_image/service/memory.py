"""Hand freed memory back to the system: when the service is idle, or when it holds much more than it
did when last idle.

glibc keeps memory that threads have freed in per-thread arenas; with eight server threads each
decoding images and building tile batches, the service's resident memory grew to about 930 MB after
180 requests although the live data stays under 200 MB. ``malloc_trim(0)`` returns those free pages.
Trimming has a price: the next request faults the pages back in. Trimming after every heavy request
made the service's 1024² JPEG round trip 1.14-1.17x the same work in a process that never trims
(1.07-1.08x without the trims; reports/README.md "Runtime v2"), and trimming only when idle let the
memory of a busy service grow (60 s soak peaks 377-515 MB, quiet readings +0.9-15.6%).

``HeapKeeper`` does both, with a bound: after a heavy request it trims only if the resident memory is
more than ``HEADROOM_MB`` above the level it had after the last quiet trim (a stream of requests one at
a time keeps reusing the same freed pages: 1024² JPEGs on the CLIP default settle about 90 MB above
that level, a 4000x3000 one adds 40 more), and once no heavy request has been in flight for
``IDLE_S`` it trims and takes the new level. ``tune_allocator`` stops glibc from giving pages back on
its own in between. Where the C library is not glibc (macOS, Windows, musl) nothing is trimmed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
import threading
import time
from collections.abc import Callable

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2**30
HEADROOM_MB = 192.0
IDLE_S = 0.5


@functools.cache
def _glibc(name: str):  # noqa: ANN202
    """glibc's function ``name`` (``malloc_trim``, ``mallopt``); None where the C library is another."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


@functools.cache
def tune_allocator() -> bool:
    """Make glibc's allocator keep what the service frees until ``HeapKeeper`` trims. Call once, before
    the server's threads start; True where it took effect.

    - a fixed mmap threshold of 32 MB (glibc's largest) and a trim threshold of 1 GB: glibc otherwise
      tunes both as it goes and gives a thread arena's free pages back on every large free, so half
      the server threads faulted 4,400 pages (17 MB) back in during each 1024² watermark check (16 ms
      instead of 7) and the model step was 5% slower than in a process that keeps its pages;
    - one malloc arena for all threads (glibc makes up to 8 per core): ``malloc_trim`` gives back the
      free top of the main arena only, so with a second arena its top (7-30 MB, depending on what the
      last requests there left) stayed resident and the soak's quiet readings moved by up to 16%
      between two readings of one run (two arenas: +0.9 to +13.0% and -15.8%, 4 failures of the 10%
      bound in about 35 runs; one arena: +0.9% in each of 3 runs, 206 MB each time).
    """
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    settings = ((M_ARENA_MAX, 1), (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return all([bool(mallopt(param, value)) for param, value in settings])


def release_free_memory() -> bool:
    """Return freed heap memory to the operating system; True where the C library supports it."""
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


def resident_mb(pid: int | str = "self") -> float | None:
    """Resident memory in MB of this process, or of process ``pid`` (``/proc/PID/statm``, a few
    microseconds); None where there is no such file."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class HeapKeeper:
    """Decides when freed memory goes back (see the module text). ``begin`` and ``end`` bracket every
    heavy request; a daemon thread, started when a request ends with nothing else in flight, does the
    idle trim and ends."""

    def __init__(
        self,
        headroom_mb: float = HEADROOM_MB,
        idle_s: float = IDLE_S,
        trim: Callable[[], bool] = release_free_memory,
        resident: Callable[[], float | None] = resident_mb,
    ) -> None:
        self.headroom_mb = headroom_mb
        self.idle_s = idle_s
        self.trim = trim
        self.resident = resident
        self.level_mb: float | None = None  # resident memory after the last trim with nothing in flight
        self._in_flight = 0
        self._idle_since: float | None = None  # when the last heavy request ended; None: in flight or trimmed
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        """A heavy request starts."""
        with self._cond:
            self._in_flight += 1
            self._idle_since = None

    def end(self) -> None:
        """A heavy request ended: trim now if the memory passed the bound, and arm the idle trim."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            rss = self.resident()
            if rss is None or self.level_mb is None or rss > self.level_mb + self.headroom_mb:
                self._trim_locked()
            if self._in_flight == 0:
                self._idle_since = time.monotonic()
                self._start_locked()
                self._cond.notify_all()

    def _trim_locked(self) -> None:
        if self.trim() and self._in_flight == 0:
            self.level_mb = self.resident()

    def _start_locked(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._idle_loop, daemon=True, name="heap-keeper")
            self._thread.start()

    def _idle_loop(self) -> None:
        """Wait until no heavy request has been in flight for ``idle_s``, trim, and end (the next
        request's ``end`` starts another)."""
        with self._cond:
            while True:
                if self._idle_since is None:
                    self._cond.wait()
                    continue
                left = self._idle_since + self.idle_s - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._trim_locked()
                self._idle_since = None
                self._thread = None
                return
