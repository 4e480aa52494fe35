"""Crash-safe state: every file Sentry-Image keeps is replaced whole or not at all.

A write goes to a temporary file beside the target, is flushed to disk (fsync), renamed over the
target (atomic on POSIX and Windows) and the folder entry is flushed too. A process killed at any
moment leaves either the old file or the new one, never a partial one. ``locked`` serialises
read-modify-write cycles between processes that share one data folder (the service, the CLI and the
desktop app).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

TEMP_PREFIX = ".tmp-"
_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk; a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` for a writer that wants a file name (safetensors,
    torch.save, ONNX export); on success it is flushed and renamed over ``target``, on failure removed.
    The new file gets ``mode``, else the old file's permissions, else the usual ones (0666 & ~umask)."""
    target = Path(target)
    if mode is None:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_UMASK
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + target.name + ".", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def atomic_write_bytes(target: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``target`` with ``data`` atomically (``mode``: permission bits of the new file)."""
    with atomic_path(target, mode) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: Path, text: str, mode: int | None = None) -> None:
    """Replace ``target`` with ``text`` (UTF-8) atomically."""
    atomic_write_bytes(target, text.encode("utf-8"), mode)


def locked(target: Path, timeout: float = 30.0) -> FileLock:
    """A lock, shared by every process, for a read-modify-write of ``target`` (``with locked(p): ...``)."""
    return FileLock(str(Path(target).with_name(f".{Path(target).name}.lock")), timeout=timeout)


def remove_leftovers(folder: Path, older_than_s: float = 600.0) -> None:
    """Delete temporary files that a killed writer left in ``folder`` (old enough not to be another
    process's write in progress): ours (``.tmp-*``) and safetensors' own (it writes through a
    ``.tmpXXXXXX`` file too)."""
    for path in Path(folder).glob(".tmp*"):
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > older_than_s:
                path.unlink()
