"""Split archives and safe extraction.

Dataset releases ship big archives in pieces (``x.tar.gz.00``, ``x.tar.gz.01``, ``x.7z.001``, ...).
``join_parts`` reassembles them; ``safe_extract`` opens a tar (any compression) or zip archive and checks
every member (no absolute paths, no ``..``, no links leaving the tree, no device or FIFO files) and the
room the extracted files need *before* writing anything, so a hostile archive is refused whole;
Python's PEP 706 data filter runs too on tars where present.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from sentry_image.atomic_files import atomic_path
from sentry_image.downloads.disk import check_free_space
from sentry_image.errors import SentryError

EXTRACTABLE = (".tar", ".tar.gz", ".tgz", ".zip")


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
    """Extract a tar (any compression) or zip archive into ``dest``; returns the member names. Refuses
    the whole archive, extracting nothing, when any member would escape ``dest`` or is a special file,
    or when its files would not fit on the disk."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.lower().endswith(".zip"):
        return _extract_zip(archive, dest)
    root = dest.resolve()
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:  # check all first: nothing is written from a hostile archive
                problem = member_problem(member.name, root, member.isdev(), _tar_link(member))
                if problem:
                    raise ArchiveError(f"{archive.name}: refused, {member.name!r} {problem}")
            check_free_space(dest, sum(m.size for m in members if m.isfile()))
            # Python's own PEP 706 data filter too, where this Python has it (3.11.4+).
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(dest, members=members, **extra)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{archive.name}: not a readable tar archive or cut short ({exc})") from exc
    return [m.name for m in members]


def _tar_link(member: tarfile.TarInfo) -> tuple[str, bool] | None:
    """(link target, is symbolic) of a link member, else None."""
    if member.issym() or member.islnk():
        return member.linkname, member.issym()
    return None


def _extract_zip(archive: Path, dest: Path) -> list[str]:
    root = dest.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                mode = info.external_attr >> 16
                link = (zf.read(info).decode("utf-8", "replace"), True) if stat.S_ISLNK(mode) else None
                special = stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)
                problem = member_problem(info.filename, root, special, link)
                if problem:
                    raise ArchiveError(f"{archive.name}: refused, {info.filename!r} {problem}")
            check_free_space(dest, sum(i.file_size for i in members))
            zf.extractall(dest, members=members)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArchiveError(f"{archive.name}: not a readable zip archive or cut short ({exc})") from exc
    return [i.filename for i in members]


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def member_problem(name: str, root: Path, special: bool = False, link: tuple[str, bool] | None = None) -> str | None:
    """Why a member called ``name`` must not be extracted under ``root`` (resolved), or None when it may.
    ``special``: a device or FIFO; ``link``: (target, is symbolic) for a symbolic or hard link."""
    if os.path.isabs(name) or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    target = (root / name).resolve()
    if not _inside(target, root):
        return "would be written outside the destination (..)"
    if special:
        return "is a device or FIFO"
    if link is not None:
        link_target, symbolic = link
        base = target.parent if symbolic else root
        if os.path.isabs(link_target) or not _inside((base / link_target).resolve(), root):
            return "is a link that points outside the destination"
    return None
