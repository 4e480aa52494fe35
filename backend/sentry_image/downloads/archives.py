"""Split archives and safe extraction.

Dataset releases ship big tarballs in pieces (``x.tar.gz.00``, ``x.tar.gz.01``, ...). ``join_parts``
reassembles them; ``safe_extract`` checks every member
(no absolute paths, no ``..``, no links leaving the tree, no device or FIFO files) *before* writing
anything, so a hostile archive is refused whole; Python's PEP 706 data filter runs too where present.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path

from sentry_image.atomic_files import atomic_path
from sentry_image.errors import SentryError


class ArchiveError(SentryError):
    """An archive is incomplete or holds something that must not be extracted."""

    code = "archive_error"
    http_status = 422


_PART = re.compile(r"^(?P<stem>.+)\.(?P<index>\d{2,})$")


def split_groups(names: list[str]) -> dict[str, list[str]]:
    """Group the pieces of split files by the name they join to, each group in piece order:
    ``{"x.tar.gz": ["x.tar.gz.00", "x.tar.gz.01"]}``. Names that are not pieces are left out."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        m = _PART.match(name)
        if m:
            groups.setdefault(m["stem"], []).append((int(m["index"]), name))
    out = {}
    for stem, pieces in groups.items():
        pieces.sort()
        indexes = [i for i, _ in pieces]
        if indexes != list(range(indexes[0], indexes[0] + len(indexes))):
            raise ArchiveError(f"{stem}: pieces {indexes} are not consecutive; a piece is missing")
        out[stem] = [n for _, n in pieces]
    return out


def join_parts(parts: list[Path], target: Path) -> Path:
    """Concatenate ``parts`` (in the given order) into ``target``, atomically."""
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
    return target


def safe_extract(archive: Path, dest: Path) -> list[str]:
    """Extract a tar archive (any compression) into ``dest``; returns the member names. Refuses the
    whole archive, extracting nothing, when any member would escape ``dest`` or is a special file."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:  # check all first: nothing is written from a hostile archive
                problem = member_problem(member, root)
                if problem:
                    raise ArchiveError(f"{archive.name}: refused, {member.name!r} {problem}")
            # Python's own PEP 706 data filter too, where this Python has it (3.11.4+).
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(dest, members=members, **extra)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{archive.name}: not a readable tar archive or cut short ({exc})") from exc
    return [m.name for m in members]


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def member_problem(member: tarfile.TarInfo, root: Path) -> str | None:
    """Why ``member`` must not be extracted under ``root`` (resolved), or None when it may."""
    name = member.name
    if os.path.isabs(name) or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    target = (root / name).resolve()
    if not _inside(target, root):
        return "would be written outside the destination (..)"
    if member.isdev():
        return "is a device or FIFO"
    if member.issym() or member.islnk():
        link = member.linkname
        base = target.parent if member.issym() else root
        if os.path.isabs(link) or not _inside((base / link).resolve(), root):
            return "is a link that points outside the destination"
    return None
