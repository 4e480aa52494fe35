"""The service's view of the model store: the active detector, loaded once and swapped atomically."""

from __future__ import annotations

import threading

from sentry_image.engine.detector import Detector
from sentry_image.registry.store import ModelStore


class ActiveDetector:
    """Holds the detector for the active model; reloads it when the selection changes."""

    def __init__(self, store: ModelStore, device: str = "auto", thresholds: dict[str, float] | None = None) -> None:
        self.store = store
        self.device = device
        self.thresholds = thresholds or {}
        self._lock = threading.Lock()
        self._detector: Detector | None = None

    def get(self) -> Detector:
        """The active detector; raises ``NoModelError`` when no model is installed."""
        with self._lock:
            model = self.store.active()
            if self._detector is None or self._detector.model_id != model.id:
                self._detector = Detector.from_folder(model.folder, device=self.device, thresholds=self.thresholds)
            return self._detector

    def switch(self, model_id: str) -> Detector:
        """Select ``model_id`` (validated by loading) and make it the active detector."""
        with self._lock:
            model = self.store.use(model_id)
            self._detector = Detector.from_folder(model.folder, device=self.device, thresholds=self.thresholds)
            return self._detector
