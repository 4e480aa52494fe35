"""``check_many``: worker threads prepare, the model scores in batches; results in input order, the
same as checking each image alone, errors in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import encode, generated_like, photo_like
from sentry_image.engine.compression import compression_state
from sentry_image.engine.decode import decode_image
from sentry_image.engine.detector import Detector
from sentry_image.engine.pipeline import check_many
from sentry_image.errors import ImageDecodeError, SentryError
from sentry_image.provenance.fusion import assess


def test_results_in_order_equal_to_one_at_a_time(tmp_path: Path, trained_model_dir: Path) -> None:
    detector = Detector.from_folder(trained_model_dir)
    rng = np.random.default_rng(9)
    paths = []
    for i in range(19):
        path = tmp_path / f"{i:02d}.img"
        if i % 6 == 5:
            path.write_bytes(b"not an image")
        else:
            img = photo_like(rng, 64 + 8 * i) if i % 2 else generated_like(rng, 64 + 8 * i)
            path.write_bytes(encode(img, "JPEG" if i % 3 else "PNG"))
        paths.append(str(path))

    out = list(check_many(paths, detector, lambda p: Path(p).read_bytes(), workers=3, batch_images=4))
    assert [item for item, _ in out] == paths
    for path, outcome in out:
        data = Path(path).read_bytes()
        if data == b"not an image":
            assert isinstance(outcome, ImageDecodeError)
            continue
        assert not isinstance(outcome, SentryError)
        img = decode_image(data)
        alone = detector.score([img])[0]
        want = assess(data, alone.score, detector.thresholds, img, compression_state(data))
        assert abs(outcome["pixel_score"] - want["pixel_score"]) < 1e-5
        assert outcome["verdict"] == want["verdict"] and outcome["evidence"] == want["evidence"]


def test_a_failing_reader_is_an_error_for_that_item_only(trained_model_dir: Path) -> None:
    detector = Detector.from_folder(trained_model_dir)
    good = encode(photo_like(np.random.default_rng(1), 96), "PNG")

    def read(item: str) -> bytes:
        if item == "missing":
            raise SentryError("cannot read missing")
        return good

    out = dict(check_many(["a", "missing", "b"], detector, read))
    assert isinstance(out["missing"], SentryError) and out["a"]["score"] == out["b"]["score"]
