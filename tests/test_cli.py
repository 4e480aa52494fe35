"""The command line: check (table and JSON lines), models, and their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import encode, generated_like, photo_like
from sentry_image.cli import main


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    (tmp_path / "imgs" / "a.jpg").write_bytes(encode(photo_like(rng, 80), "JPEG"))
    (tmp_path / "imgs" / "b.png").write_bytes(encode(generated_like(rng, 80)))
    (tmp_path / "imgs" / "sub" / "c.png").write_bytes(encode(generated_like(rng, 80)))
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    return tmp_path / "imgs"


@pytest.fixture
def installed(store_with_model):
    return store_with_model


def test_check_json_lines(installed, image_folder: Path, capsys) -> None:
    assert main(["check", str(image_folder), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {Path(r["path"]).name for r in rows} == {"a.jpg", "b.png", "broken.png"}
    for r in rows:
        assert set(r) == {
            "path",
            "score",
            "verdict",
            "model",
            "error",
            "pixel_score",
            "explanation",
            "evidence",
            "compression",
        }
        if Path(r["path"]).name == "broken.png":
            assert r["error"]["code"] == "decode_error" and r["score"] is None and r["compression"] is None
        else:
            assert 0 <= r["score"] <= 1 and r["model"] == "tiny-npr"
            assert r["compression"]["state"] == ("jpeg" if r["path"].endswith(".jpg") else "lossless")


def test_check_recursive_table(installed, image_folder: Path, capsys) -> None:
    assert main(["check", str(image_folder), "--recursive"]) == 0
    out = capsys.readouterr().out
    assert "c.png" in out and "tiny-npr" in out


def test_check_nothing_scored_is_nonzero(installed, image_folder: Path, capsys) -> None:
    assert main(["check", str(image_folder / "broken.png"), "--json"]) == 1
    assert main(["check", str(image_folder / "missing.png"), "--json"]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_check_without_model_says_so(
    sentry_home: Path, empty_builtin: Path, monkeypatch, image_folder: Path, capsys
) -> None:
    monkeypatch.setattr("sentry_image.paths.BUILTIN_MODELS_DIR", empty_builtin)
    assert main(["check", str(image_folder)]) == 3
    assert "no model installed" in capsys.readouterr().err


def test_models_commands(installed, trained_model_dir: Path, capsys) -> None:
    assert main(["models", "list"]) == 0
    assert "tiny-npr" in capsys.readouterr().out
    assert main(["models", "info", "tiny-npr"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "tiny-npr"
    assert main(["models", "import", str(trained_model_dir)]) == 1
    assert "already installed" in capsys.readouterr().err
    assert main(["models", "use", "nope"]) == 1
    assert main(["models", "use", "tiny-npr"]) == 0
    assert main(["models", "remove", "tiny-npr"]) == 0
    assert main(["models", "list"]) == 0
    assert "no models installed" in capsys.readouterr().out


def test_usage_error_exit_code() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2


def test_threshold_overrides_change_verdicts_not_scores(installed, image_folder: Path, capsys) -> None:
    target = str(image_folder / "a.jpg")
    assert main(["check", target, "--json", "--likely-ai", "0", "--likely-real", "0"]) == 0
    strict = json.loads(capsys.readouterr().out)
    assert strict["verdict"] == "likely_ai"
    assert main(["check", target, "--json", "--likely-ai", "1", "--likely-real", "1"]) == 0
    lenient = json.loads(capsys.readouterr().out)
    assert lenient["verdict"] == "likely_real" and lenient["score"] == strict["score"]
    assert main(["check", target, "--likely-ai", "1.5"]) == 3
    assert "between 0 and 1" in capsys.readouterr().err
