"""Hand freed memory back to the system after each heavy request.

glibc keeps memory that threads have freed in per-thread arenas; with eight server threads each
decoding images and building tile batches, the service's resident memory grew to about 930 MB after
180 requests although the live data stays under 200 MB. ``malloc_trim(0)`` returns those free pages
(measured: about 150 MB resident after the same load, see reports/README.md). Trimming has a price:
the next request faults the pages back in (a 1024² JPEG's model step took 40 ms instead of 31 ms right
after a trim, measured in-process). Trimming only when the service is idle was tried: about 12 ms
faster per 1024² JPEG through the service, but peaks of 380-520 MB under a 60 s soak (265-280 MB
trimming after each request) and quiet readings that varied by up to 16% between runs, so each heavy
request still trims. Where the C library is not glibc (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

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
