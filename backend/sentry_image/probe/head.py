"""A probe's head: which backbone features it reads, how they are standardised, and a linear map to one
logit. Stored as ``model.safetensors`` (numpy arrays ``mean``, ``scale``, ``weight``, ``bias``); which
views, layers and tokens make up the feature vector is in the card's architecture options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sentry_image.atomic_files import atomic_path
from sentry_image.backbones.features import TOKENS
from sentry_image.errors import ModelError
from sentry_image.probe.views import VIEWS


@dataclass(frozen=True)
class FeatureSpec:
    """Which parts of the per-view features ``views x layers x tokens x hidden`` the head reads."""

    views: tuple[str, ...] = VIEWS
    layers: tuple[int, ...] = tuple(range(12))
    tokens: tuple[str, ...] = ("cls",)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> FeatureSpec:
        """From a card's ``architecture.options``; ``ModelError`` for unknown names."""
        spec = cls(
            views=tuple(options.get("views", VIEWS)),
            layers=tuple(int(i) for i in options.get("layers", range(12))),
            tokens=tuple(options.get("tokens", ("cls",))),
        )
        if not spec.views or set(spec.views) - set(VIEWS):
            raise ModelError(f"probe views must be among {VIEWS}, got {list(spec.views)}")
        if not spec.tokens or set(spec.tokens) - set(TOKENS):
            raise ModelError(f"probe tokens must be among {TOKENS}, got {list(spec.tokens)}")
        return spec

    def options(self) -> dict[str, Any]:
        """As stored in the card."""
        return {"views": list(self.views), "layers": list(self.layers), "tokens": list(self.tokens)}

    def select(self, per_view: dict[str, np.ndarray]) -> np.ndarray:
        """The feature vectors ``N x D`` from per-view features (each ``N x layers x tokens x hidden``)."""
        tok = [TOKENS.index(t) for t in self.tokens]
        parts = [per_view[v][:, list(self.layers)][:, :, tok].reshape(len(per_view[v]), -1) for v in self.views]
        return np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class LinearHead:
    """``logit = ((x - mean) / scale) @ weight + bias``."""

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        """One logit per row of ``x`` (``N x D``)."""
        return ((x - self.mean) / self.scale) @ self.weight + self.bias

    def per_view_parts(self, x: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
        """Each view's share of the logit (``N`` each; their sum plus ``bias`` is ``logits``): the head is
        linear, so averaging a view's features over crops is averaging its shares."""
        z = ((x - self.mean) / self.scale) * self.weight
        edges = np.cumsum([0, *sizes])
        return [z[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def save(self, path: Path) -> None:
        """Write the head as safetensors (float32)."""
        from safetensors.numpy import save_file

        arrays = {
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "weight": self.weight.astype(np.float32),
            "bias": np.asarray([self.bias], dtype=np.float32),
        }
        with atomic_path(path) as tmp:
            save_file(arrays, str(tmp))

    @classmethod
    def load(cls, path: Path, dim: int) -> LinearHead:
        """Read a head of ``dim`` features; ``ModelError`` when the file or its shapes do not fit."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            arrays = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise ModelError(f"{path}: unreadable safetensors file ({exc})") from exc
        want = {"mean": (dim,), "scale": (dim,), "weight": (dim,), "bias": (1,)}
        if set(arrays) != set(want) or any(arrays[k].shape != s for k, s in want.items()):
            got = {k: list(v.shape) for k, v in arrays.items()}
            raise ModelError(
                f"{path}: a probe head of {dim} features needs mean/scale/weight ({dim},) and bias (1,), found {got}"
            )
        if not (arrays["scale"] > 0).all():
            raise ModelError(f"{path}: the head's scale must be positive")
        return cls(arrays["mean"], arrays["scale"], arrays["weight"], float(arrays["bias"][0]))
