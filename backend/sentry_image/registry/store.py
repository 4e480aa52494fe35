"""The model store: built-in models shipped in the package plus user models in the data folder.

Every change is validated first and changes nothing when refused: an import is checked in a
staging folder (card schema, known architecture, sha256, strict state-dict load) and only then
moved into place.

Changes are crash-safe: an import is flushed to disk in a hidden staging folder and appears by one
rename; a removal first renames the folder out of sight. A process killed at any point leaves the
model installed whole or not at all; hidden leftovers are ignored and cleaned up later.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentry_image import paths
from sentry_image.atomic_files import fsync_dir
from sentry_image.errors import ModelError, NoModelError
from sentry_image.registry.card import (
    CARD_FILE,
    FUSION,
    ONNX_FILE,
    PARTS_DIR,
    PROBE,
    WEIGHTS_FILE,
    onnx_only,
    read_card,
    weights_file,
)
from sentry_image.registry.loading import check_model_folder
from sentry_image.settings import load_settings, update_settings


@dataclass(frozen=True)
class InstalledModel:
    """A model folder with its validated card."""

    id: str
    folder: Path
    card: dict[str, Any]
    builtin: bool
    part_of: str | None = None  # the fused model whose expert this is (selectable on its own)

    def summary(self) -> dict[str, Any]:
        """The public description used by the API and ``models list``."""
        c = self.card
        return {
            "id": self.id,
            "name": c["name"],
            "version": c["version"],
            "architecture": c["architecture"]["name"],
            "format": c.get("format", "safetensors"),
            "builtin": self.builtin,
            "part_of": self.part_of,
            "license": c["license"],
            # a probe's frozen backbone (fetched once, shared by every probe on it) counts with its head
            "size_bytes": sum(p.stat().st_size for p in self.folder.rglob(weights_file(c)))
            + int(c.get("backbone", {}).get("size_bytes", 0)),
            "thresholds": c["thresholds"],
            "metrics": c.get("metrics", {}).get("val", {}),
        }


class ModelStore:
    """Lists, imports, removes and selects models."""

    def __init__(self, builtin_dir: Path | None = None, user_dir: Path | None = None) -> None:
        self.builtin_dir = builtin_dir or paths.BUILTIN_MODELS_DIR
        self.user_dir = user_dir or paths.user_models_dir()
        self._lock = threading.Lock()
        self._scans: dict[Path, tuple[tuple, list[InstalledModel]]] = {}

    def _scan(self, root: Path, builtin: bool) -> list[InstalledModel]:
        """The models under ``root``. Reading and validating every card costs ~6 ms, and the service asks
        on every request, so a scan is reused while the folders' modification times are unchanged (an
        import, removal or card rewrite by any process changes them)."""
        if not root.is_dir():
            return []
        hidden = (".import-", ".remove-")  # staging and removal in progress (or left by a killed process)
        folders = sorted(p for p in root.iterdir() if not p.name.startswith(hidden) and (p / CARD_FILE).is_file())
        signature = (
            root.stat().st_mtime_ns,
            *((f.name, f.stat().st_mtime_ns, (f / CARD_FILE).stat().st_mtime_ns) for f in folders),
        )
        with self._lock:
            cached = self._scans.get(root)
            if cached is not None and cached[0] == signature:
                return list(cached[1])
        found = []
        for folder in folders:
            try:
                card = read_card(folder)
            except ModelError:
                continue
            found.append(InstalledModel(card["id"], folder, card, builtin))
            found += self._parts(folder, card, builtin)
        with self._lock:
            self._scans[root] = (signature, found)
        return list(found)

    @staticmethod
    def _parts(folder: Path, card: dict[str, Any], builtin: bool) -> list[InstalledModel]:
        """A fused model's experts, each listed as a model of its own."""
        if card["architecture"]["name"] != FUSION:
            return []
        from sentry_image.engine.fusion_folder import part_folders

        out = []
        try:
            for part in part_folders(folder, card).values():
                pc = read_card(part)
                out.append(InstalledModel(pc["id"], part, pc, builtin, part_of=card["id"]))
        except ModelError:
            return []
        return out

    def list(self) -> list[InstalledModel]:
        """All installed models, built-in first; a fused model's expert only where no model of its own
        has that id."""
        found = self._scan(self.builtin_dir, True) + self._scan(self.user_dir, False)
        own = {m.id for m in found if m.part_of is None}
        seen: dict[str, InstalledModel] = {}
        for m in found:
            if m.part_of is None or m.id not in own:
                seen.setdefault(m.id, m)
        return list(seen.values())

    def get(self, model_id: str) -> InstalledModel:
        """The installed model with this id; ``ModelError`` if there is none."""
        for m in self.list():
            if m.id == model_id:
                return m
        raise ModelError(f"no installed model with id {model_id!r}")

    def folder_for(self, ref: str | None) -> Path:
        """The folder of a model given as an installed id or a model folder path; the active model's for None."""
        if not ref:
            return self.active().folder
        path = Path(ref)
        if (path / CARD_FILE).is_file():
            return path
        return self.get(ref).folder

    def active_id(self) -> str | None:
        """The selected model id, else the default (``default_id``), else None."""
        models = self.list()
        wanted = load_settings().get("active_model")
        if wanted and any(m.id == wanted for m in models):
            return str(wanted)
        return self.default_id(models)

    @staticmethod
    def default_id(models: list[InstalledModel]) -> str | None:
        """The model used when none is selected: the first built-in backbone probe (``clip-layers``, the
        most accurate, on CPU and CUDA alike), else the first built-in one that suits this machine (an int8
        ONNX-only model on the CPU, where it is about 3x faster at the same accuracy; one with PyTorch
        weights where CUDA is available), else the first built-in model, else any model, else None."""
        from sentry_image.engine.device import cuda_available

        builtin = [m for m in models if m.builtin and m.part_of is None]
        probes = [m for m in builtin if m.card["architecture"]["name"] == PROBE]
        want_onnx_only = not cuda_available()
        suited = [m for m in builtin if onnx_only(m.card) == want_onnx_only]
        for group in (probes, suited, builtin, models):
            if group:
                return group[0].id
        return None

    def active(self) -> InstalledModel:
        """The active model; ``NoModelError`` when none is installed."""
        model_id = self.active_id()
        if model_id is None:
            raise NoModelError(
                "no model installed: train one with `sentry-image train` and import it "
                "with `sentry-image models import`"
            )
        return self.get(model_id)

    def use(self, model_id: str) -> InstalledModel:
        """Make ``model_id`` the active model after checking that it loads."""
        model = self.get(model_id)
        check_model_folder(model.folder)
        update_settings(active_model=model_id)
        return model

    def import_folder(self, source: Path) -> InstalledModel:
        """Validate and copy a model folder into the user store; refuses duplicates and bad models."""
        source = Path(source)
        if source.is_file() and source.name in (CARD_FILE, WEIGHTS_FILE, ONNX_FILE):
            source = source.parent
        if not source.is_dir():
            raise ModelError(f"{source}: not a model folder (expected a folder with {CARD_FILE} and {WEIGHTS_FILE})")
        card = check_model_folder(source)
        if any(m.id == card["id"] for m in self.list()):
            raise ModelError(f"a model with id {card['id']!r} is already installed")
        self.user_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=self.user_dir))
        try:
            own = [ONNX_FILE] if onnx_only(card) else [WEIGHTS_FILE, *([ONNX_FILE] if "onnx" in card else [])]
            for name in (CARD_FILE, *own):
                shutil.copy2(source / name, staging / name)
            if (source / PARTS_DIR).is_dir():  # a fused model's parts (checked again in staging below)
                if any(p.is_symlink() for p in (source / PARTS_DIR).rglob("*")):
                    raise ModelError(f"{source / PARTS_DIR}: links are not allowed in a model's parts")
                shutil.copytree(source / PARTS_DIR, staging / PARTS_DIR)
            check_model_folder(staging)
            _flush_tree(staging)
            target = self.user_dir / card["id"]
            try:
                staging.rename(target)
            except OSError as exc:  # another process installed the same id a moment ago
                raise ModelError(f"a model with id {card['id']!r} is already installed") from exc
            fsync_dir(self.user_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return InstalledModel(card["id"], target, card, False)

    def remove(self, model_id: str) -> None:
        """Delete a user model; built-in models cannot be removed."""
        model = self.get(model_id)
        if model.builtin:
            raise ModelError(f"{model_id!r} is built in and cannot be removed")
        if model.part_of:
            raise ModelError(f"{model_id!r} is an expert of the fused model {model.part_of!r}; remove that one")
        doomed = Path(tempfile.mkdtemp(prefix=".remove-", dir=self.user_dir))
        model.folder.rename(doomed / model.folder.name)  # gone from the store in one step
        fsync_dir(self.user_dir)
        shutil.rmtree(doomed, ignore_errors=True)
        if load_settings().get("active_model") == model_id:
            update_settings(active_model=None)

    def clean_leftovers(self, older_than_s: float = 600.0) -> None:
        """Delete staging and removal folders that a killed process left (old enough not to be another
        process's work in progress)."""
        if not self.user_dir.is_dir():
            return
        for path in self.user_dir.glob(".*-*"):
            if path.name.startswith((".import-", ".remove-")) and time.time() - path.stat().st_mtime > older_than_s:
                shutil.rmtree(path, ignore_errors=True)


def _flush_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (before it is renamed into the store)."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(folder)
