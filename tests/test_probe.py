"""The CLIP layer probe (architecture ``clip-layers``) on the real backbone: per-layer features of a fixed
image against stored values, crops that do not depend on their batch, training through ``train-probe`` on
fixture data with both protocols in the card, the shipped path equal to the training path, the card's
round trip and refusals, the heatmap, and a CPU path that never imports PyTorch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import encode, generated_like, make_label_folders, photo_like, write_probe_folder
from sentry_image.cli import main
from sentry_image.engine.decode import decode_image
from sentry_image.errors import ModelError
from sentry_image.probe.cache import FeatureCache
from sentry_image.probe.detector import ProbeDetector
from sentry_image.registry.card import WEIGHTS_FILE, read_card
from sentry_image.training.datasets import open_dataset
from sentry_image.training.probe_features import dataset_features

# Resize view of photo_like(default_rng(7), 320), computed when this test was written: per block, the CLS
# token's first four values and its L2 norm. The backbone's int8 kernels differ between CPU instruction
# sets (VNNI or not), so the values are compared within 0.03 absolute and 1% of the norm.
STORED = {
    0: ([-0.0134, -0.3283, -0.1073, 0.0029], 5.287),
    3: ([0.0221, -0.3396, 0.0381, -0.1617], 5.354),
    6: ([0.0293, -0.3221, 0.0667, -0.0466], 5.165),
    9: ([0.1277, -0.3826, 0.0227, -0.1958], 9.281),
    11: ([0.0343, -0.2643, 0.0039, -0.1588], 7.677),
}


@pytest.fixture(scope="session")
def extractor(clip_backbone):
    from sentry_image.backbones.features import layer_features
    from sentry_image.probe.extract import ViewExtractor

    return ViewExtractor(layer_features(clip_backbone))


def test_layer_features_of_a_fixed_image(extractor) -> None:
    img = photo_like(np.random.default_rng(7), 320)
    ((per_view, boxes),) = extractor.extract([img])
    assert per_view["resize"].shape == per_view["native"].shape == (1, 12, 2, 768)
    assert boxes == [(48, 48, 272, 272)]  # the native centre crop
    for layer, (first, norm) in STORED.items():
        cls = per_view["resize"][0, layer, 0]
        np.testing.assert_allclose(cls[:4], first, atol=0.03)
        assert abs(np.linalg.norm(cls) - norm) <= 0.01 * norm
    assert not np.allclose(per_view["resize"], per_view["native"])  # two different views


def test_a_crop_does_not_depend_on_its_batch(extractor) -> None:
    rng = np.random.default_rng(1)
    img = photo_like(rng, 256)
    alone = extractor.extract([img])[0][0]["resize"]
    together = extractor.extract([generated_like(rng, 300), img, photo_like(rng, 500)])[1][0]["resize"]
    np.testing.assert_array_equal(alone, together)


@pytest.fixture(scope="session")
def tiny_probe(clip_backbone, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """``(model folder, dataset, feature cache)``: a probe trained by ``sentry-image train-probe``."""
    data = make_label_folders(tmp_path_factory.mktemp("probe-data"), n=8, seed=4)
    run, cache = tmp_path_factory.mktemp("probe-run"), tmp_path_factory.mktemp("probe-cache")
    args = ["train-probe", "--data", str(data), "--out", str(run), "--cache", str(cache)]
    assert main([*args, "--c-values", "0.01", "0.1", "--model-id", "tiny-probe"]) == 0
    return run / "model", data, cache


def test_training_writes_both_protocols_into_the_card(tiny_probe) -> None:
    folder, _, _ = tiny_probe
    card = read_card(folder)
    assert card["architecture"]["name"] == "clip-layers"
    assert card["architecture"]["options"] == {
        "backbone": "clip-vit-b16",
        "native_crops": 1,
        "views": ["resize", "native"],
        "layers": list(range(12)),
        "tokens": ["cls"],
    }
    assert card["backbone"]["sha256"].startswith("2d2da5e2") and "MIT" in card["license"]
    assert [row["C"] for row in card["training"]["c_search"]] == [0.01, 0.1]
    for protocol in ("val", "format_matched_val"):
        assert 0.0 <= card["metrics"][protocol]["roc_auc"] <= 1.0 and card["metrics"][protocol]["n"] == 16
    assert set(card["metrics"]["per_compression"]) == {"as found", "format-matched"}
    assert card["thresholds"]["likely_real"] <= card["thresholds"]["likely_ai"]
    assert card["calibration"]["fitted_on"] == "validation split" and card["calibration"]["temperature"] > 0


def test_shipped_path_equals_training_path(tiny_probe) -> None:
    folder, data, _ = tiny_probe
    shipped = ProbeDetector.from_folder(folder)  # no cache: every feature computed afresh
    val = open_dataset(data, "val")
    rows = dataset_features(val, shipped.extractor, show_progress=False)
    trained = shipped.head.logits(shipped.feature_spec.select(rows.views))
    scored = [s.logit for s in shipped.score([decode_image(s.read()) for s in val])]
    np.testing.assert_allclose(scored, trained, atol=1e-4)


def test_large_image_logit_is_the_mean_of_its_native_crops(clip_backbone, tmp_path: Path) -> None:
    folder = write_probe_folder(tmp_path / "p", "crops-probe", native_crops=4)
    detector = ProbeDetector.from_folder(folder)
    img = photo_like(np.random.default_rng(3), 640)
    (score,) = detector.score([img])
    assert len(score.tile_logits) == len(score.tile_boxes) == 4
    assert score.logit == pytest.approx(np.mean(score.tile_logits), abs=1e-6)
    assert len(set(score.tile_boxes)) == 4 and all(b[2] - b[0] == 224 for b in score.tile_boxes)


def test_card_round_trip_and_refusals(clip_backbone, tiny_probe, tmp_path: Path) -> None:
    from sentry_image.registry.store import ModelStore

    folder, _, _ = tiny_probe
    store = ModelStore(builtin_dir=tmp_path / "none", user_dir=tmp_path / "user")
    installed = store.import_folder(folder)
    assert installed.card == read_card(folder) and store.get("tiny-probe").summary()["architecture"] == "clip-layers"
    store.use("tiny-probe")

    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    card = read_card(bad)
    card["id"], card["architecture"]["options"]["layers"] = "bad-probe", [11]  # the head reads 12 blocks
    (bad / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="needs mean/scale/weight"):
        store.import_folder(bad)
    card["architecture"]["options"]["layers"], card["architecture"]["options"]["backbone"] = list(range(12)), "nope"
    (bad / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="unknown backbone 'nope'"):
        store.import_folder(bad)
    card["architecture"]["options"]["backbone"] = "clip-vit-b16"
    (bad / "model.json").write_text(json.dumps(card))
    weights = bytearray((bad / WEIGHTS_FILE).read_bytes())
    weights[-1] ^= 1
    (bad / WEIGHTS_FILE).write_bytes(bytes(weights))
    with pytest.raises(ModelError, match="does not match the card"):
        store.import_folder(bad)
    assert [m.id for m in store.list()] == ["tiny-probe"]


def test_evaluation_reads_the_cache_and_gives_both_protocols(tiny_probe) -> None:
    from sentry_image.evaluation.report import evaluate_model

    folder, data, cache = tiny_probe
    detector = ProbeDetector.from_folder(folder, feature_cache=FeatureCache(cache, "clip-vit-b16"))
    calls = []
    run = detector.extractor.features.run
    detector.extractor.features.run = lambda batch: calls.append(len(batch)) or run(batch)  # type: ignore[method-assign]
    try:
        entry = evaluate_model(detector, open_dataset(data, "val"), robustness=False, show_progress=False)
    finally:
        detector.extractor.features.run = run  # type: ignore[method-assign]
    assert calls == []  # every crop of both protocols was cached by training
    assert entry["overall"]["n"] == entry["format_matched"]["n"] == 16
    assert entry["headline"]["protocol"] in ("as found", "format-matched")


def test_heatmap_of_a_probe_stays_within_its_tile_budget(clip_backbone, tmp_path: Path) -> None:
    from PIL import Image

    from sentry_image.engine.heatmap import render_heatmap, tile_scores

    detector = ProbeDetector.from_folder(write_probe_folder(tmp_path / "p", "heat-probe"))
    img = photo_like(np.random.default_rng(5), 700)
    boxes, scores = tile_scores(detector, img)
    assert 1 < len(boxes) <= ProbeDetector.max_heatmap_tiles and all(0 <= s <= 1 for s in scores)
    picture = Image.open(__import__("io").BytesIO(render_heatmap(img, boxes, scores)))
    assert picture.size == img.size


PROBE_SCRIPT = """
import sys
from pathlib import Path
from sentry_image.engine.load import load_detector
from sentry_image.engine.decode import decode_image
detector = load_detector(Path(sys.argv[1]))
print("SCORE", detector.score([decode_image(open(sys.argv[2], "rb").read())])[0].score)
loaded = sorted(m for m in ("torch", "timm", "torchvision") if m in sys.modules)
print("LOADED", loaded)
"""


def test_cpu_path_never_imports_torch(clip_backbone, tmp_path: Path) -> None:
    folder = write_probe_folder(tmp_path / "p", "cpu-probe")
    image = tmp_path / "a.jpg"
    image.write_bytes(encode(photo_like(np.random.default_rng(2), 300), "JPEG"))
    r = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT, str(folder), str(image)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "LOADED []" in r.stdout and "SCORE" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]


def test_layer_graph_is_written_once_and_again_when_altered(clip_backbone, tmp_path: Path) -> None:
    from sentry_image.backbones.features import layer_graph
    from sentry_image.backbones.store import verify

    source = tmp_path / clip_backbone.file_name
    shutil.copyfile(verify(clip_backbone), source)
    graph = layer_graph(clip_backbone, source)
    assert graph == tmp_path / "layers.onnx" and graph.stat().st_size > source.stat().st_size
    written, size = graph.stat().st_mtime_ns, graph.stat().st_size
    assert layer_graph(clip_backbone, source) == graph and graph.stat().st_mtime_ns == written  # reused
    with open(graph, "ab") as fh:
        fh.write(b"x")  # altered: its size no longer matches the record
    layer_graph(clip_backbone, source)
    assert graph.stat().st_size == size and graph.stat().st_mtime_ns != written  # written again, whole
    assert json.loads((tmp_path / "layers.json").read_text())["size"] == size
