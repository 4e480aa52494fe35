"""What a dataset source lists: files with a URL, a size and a published checksum, and how a file on
disk is checked against them. Checksums are written ``ALGO:HEX`` (``sha256:…`` from the Hub's LFS
pointers, ``md5:…`` from Zenodo, either from a ``SHA256SUMS`` / ``MD5SUMS`` file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: where it goes (relative to the dataset folder), its URL, size and checksum."""

    path: str
    url: str
    size: int | None
    digest: str | None  # "sha256:HEX", "md5:HEX" or None where nothing is published


def file_digest(path: Path, algorithm: str) -> str:
    """``ALGO:HEX`` of the file at ``path``."""
    with open(path, "rb") as fh:
        return f"{algorithm}:{hashlib.file_digest(fh, algorithm).hexdigest()}"


def digest_matches(path: Path, digest: str | None) -> bool:
    """True when ``path`` has the published ``digest`` (always, where none is published)."""
    if digest is None:
        return True
    algorithm = digest.partition(":")[0]
    return file_digest(path, algorithm) == digest.lower()


def file_problem(path: Path, size: int | None, digest: str | None) -> str | None:
    """``"missing"``, ``"corrupt"`` (wrong size or checksum) or None when the file checks out."""
    if not path.is_file():
        return "missing"
    if (size is not None and path.stat().st_size != size) or not digest_matches(path, digest):
        return "corrupt"
    return None
