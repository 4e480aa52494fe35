"""The service's view of the model store: the active detector, loaded once and swapped atomically.

The store and the settings are read on every request, so a model imported or selected by another
process on the same data folder (``sentry-image models import/use``, the desktop app) is picked up
by the next request without a restart."""

from __future__ import annotations

import threading
from pathlib import Path

from sentry_image.engine.detector import Detector
from sentry_image.engine.fusion import FusedDetector
from sentry_image.engine.load import load_detector
from sentry_image.registry.store import ModelStore


class ActiveDetector:
    """Holds the detector for the active model; reloads it when the selection changes."""

    def __init__(
        self,
        store: ModelStore,
        device: str = "auto",
        backend: str = "auto",
        thresholds: dict[str, float] | None = None,
    ) -> None:
        self.store = store
        self.device = device
        self.backend = backend
        self.thresholds = thresholds or {}
        self._lock = threading.Lock()
        self._detector: Detector | FusedDetector | None = None

    def _load(self, folder: Path) -> Detector | FusedDetector:
        return load_detector(folder, device=self.device, backend=self.backend, thresholds=self.thresholds)

    def loaded_backend(self) -> str | None:
        """The backend name of the loaded detector, or None before the first load."""
        detector = self._detector
        return detector.backend.name if detector is not None else None

    def get(self) -> Detector | FusedDetector:
        """The active detector; raises ``NoModelError`` when no model is installed."""
        with self._lock:
            model = self.store.active()
            loaded = self._detector
            # Another process (the CLI, the desktop app) may have selected, re-imported or replaced it.
            if loaded is None or loaded.model_id != model.id or loaded.card.get("sha256") != model.card.get("sha256"):
                self._detector = self._load(model.folder)
            return self._detector

    def switch(self, model_id: str) -> Detector | FusedDetector:
        """Select ``model_id`` (validated by loading) and make it the active detector."""
        with self._lock:
            model = self.store.use(model_id)
            self._detector = self._load(model.folder)
            return self._detector
