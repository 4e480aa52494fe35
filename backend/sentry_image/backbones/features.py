"""Per-layer features of a backbone on ONNX Runtime: the token after every transformer block.

The backbone's ONNX file exposes only its final outputs; the residual stream after each block is an
inner tensor (named in the card's ``layer_outputs``). ``layer_graph`` writes, once, a copy of the verified
file with those tensors added as outputs (the verified file itself is never changed), and the session
returns, per crop and layer, the CLS token and the mean of the patch tokens.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from sentry_image.atomic_files import atomic_write_bytes, atomic_write_text
from sentry_image.backbones.catalog import BackboneCard
from sentry_image.backbones.store import LAYER_GRAPH_FILE, LAYER_RECORD_FILE, bundled_path, verify
from sentry_image.errors import ModelError
from sentry_image.registry.card import sha256_file

TOKENS = ("cls", "patch_mean")  # what ``LayerFeatures.run`` returns per layer, in this order


def preferred_providers(available: list[str]) -> list[str]:
    """CUDA first where this ONNX Runtime build offers it (``onnxruntime-gpu``), always the CPU."""
    return [p for p in ("CUDAExecutionProvider",) if p in available] + ["CPUExecutionProvider"]


class LayerFeatures:
    """A backbone session that maps normalised crops ``N x 3 x S x S`` to features ``N x layers x 2 x hidden``
    (float32; ``[:, :, 0]`` the CLS token, ``[:, :, 1]`` the patch tokens' mean). Thread-safe: one crop
    runs at a time (ONNX Runtime spreads it over every core)."""

    name = "onnx"

    def __init__(self, card: BackboneCard, path: Path | None = None) -> None:
        import onnxruntime as ort

        self.card = card
        graph = layer_graph(card, path or verify(card))
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # as engine.backends.OnnxBackend: memory goes back after each run
        providers = preferred_providers(ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(str(graph), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise ModelError(f"{graph}: ONNX Runtime cannot load it ({exc})") from exc
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self._lock = threading.Lock()

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Features of normalised crops (float32 ``N x 3 x S x S``), one crop per session run.

        The int8 backbone quantises its activations dynamically, with one scale per tensor: run together,
        crops would change each other's features (by up to 0.3 on values of about 6, measured), so an
        image's score would depend on what else was in its batch. One crop at a time costs about 12%
        (158 against 139 ms per crop at batch 4 on 2 cores) and makes every crop's features its own."""
        out = np.empty((len(batch), len(self.card.layer_outputs), len(TOKENS), self.card.hidden), dtype=np.float32)
        names = list(self.card.layer_outputs)
        for n in range(len(batch)):
            with self._lock:
                outs = self.session.run(names, {self.card.input_name: batch[n : n + 1]})
            for i, hidden in enumerate(outs):
                out[n, i, 0] = hidden[0, 0]
                out[n, i, 1] = hidden[0, 1:].mean(axis=0)
        return out


def layer_graph(card: BackboneCard, source: Path) -> Path:
    """The verified backbone file ``source`` with its block outputs exposed, written once beside it
    (``layers.onnx``; in the cache folder when the backbones folder is read-only) with ``layers.json``
    recording the source's sha256 and the copy's size, modification time and sha256, and written again
    when either no longer matches. Loading it needs neither the ``onnx`` package nor a second copy of the
    graph in memory: about 0.5 s and 180 MB less for every process that opens the backbone. The bundled
    app's backbone is its layer graph already."""
    from sentry_image import paths

    if source == bundled_path(card):
        return source  # the bundled app ships the layer graph itself (checked by ``store.verify``)
    for folder in (source.parent, paths.cache_dir() / "backbones" / card.id):
        target, record = folder / LAYER_GRAPH_FILE, folder / LAYER_RECORD_FILE
        try:
            meta = json.loads(record.read_text(encoding="utf-8"))
            stat = target.stat()
            if (meta["source_sha256"], meta["size"], meta["mtime_ns"]) == (card.sha256, stat.st_size, stat.st_mtime_ns):
                return target
        except (OSError, ValueError, KeyError, TypeError):
            pass
    data = _with_layer_outputs(card, source)
    for folder in (source.parent, paths.cache_dir() / "backbones" / card.id):
        target = folder / LAYER_GRAPH_FILE
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data)
            stamp_layer_graph(card, target)
            return target
        except OSError:
            continue
    raise ModelError(f"cannot write the layer graph of {card.id!r} beside {source} nor into the cache folder")


def stamp_layer_graph(card: BackboneCard, graph: Path) -> None:
    """Record ``graph`` (a layer graph of ``card``'s verified file) as it is now, beside it: the source's
    sha256, and the graph's size, modification time and sha256 (what a bundled copy is checked against)."""
    stat = graph.stat()
    meta = {
        "source_sha256": card.sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": sha256_file(graph),
    }
    atomic_write_text(graph.parent / LAYER_RECORD_FILE, json.dumps(meta) + "\n")


def _with_layer_outputs(card: BackboneCard, source: Path) -> bytes:
    """The ONNX graph of ``source`` with ``card.layer_outputs`` added as outputs, serialised."""
    import onnx

    try:
        graph = onnx.load(str(source))
    except Exception as exc:  # onnx raises protobuf's DecodeError and others for a damaged file
        raise ModelError(f"{source}: not a readable ONNX file ({exc})") from exc
    inner = {name for node in graph.graph.node for name in node.output}
    missing = [name for name in card.layer_outputs if name not in inner]
    if missing:
        raise ModelError(f"{source}: the backbone has no tensor {missing[0]!r} (is it the file the card names?)")
    present = {o.name for o in graph.graph.output}
    graph.graph.output.extend(onnx.ValueInfoProto(name=n) for n in card.layer_outputs if n not in present)
    return graph.SerializeToString()


_sessions: dict[tuple[BackboneCard, Path], LayerFeatures] = {}
_sessions_lock = threading.Lock()


def layer_features(card: BackboneCard) -> LayerFeatures:
    """The process's one session for ``card`` (verified on every call, built once): every probe model on
    the same backbone shares it, so switching models costs no second 90 MB graph."""
    path = verify(card)
    with _sessions_lock:
        session = _sessions.get((card, path))
        if session is None:
            session = _sessions[(card, path)] = LayerFeatures(card, path)
        return session
