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


def bad_inputs(folder: Path) -> dict[str, Path]:
    """One file per kind of bad input, plus a path that does not exist and a folder with no images."""
    from PIL import Image

    good = encode(photo_like(np.random.default_rng(1), 96))
    files = {
        "empty": b"",
        "text": b"hello, this is not an image\n",
        "corrupt-jpeg": b"\xff\xd8\xff\xe0" + b"garbage" * 20,
        "truncated-png": good[: len(good) // 2],
        "bomb": encode(Image.new("1", (20000, 20000)), "PNG", optimize=True),
    }
    folder.mkdir()
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.png"
        paths[name].write_bytes(data)
    paths["missing"] = folder / "missing.jpg"
    (folder / "empty-folder").mkdir()
    paths["empty-folder"] = folder / "empty-folder"
    return paths


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["table", "json"])
def test_bad_inputs_give_plain_errors_and_one_exit_code_contract(installed, tmp_path: Path, capsys, json_flag) -> None:
    """check and inspect: 1 when nothing could be scored, 2 for nothing to check, never a Python object's
    representation or a traceback in what a person reads."""
    for name, path in bad_inputs(tmp_path / "bad").items():
        heatmap = ["--heatmap", str(tmp_path / f"{name}-heat.png")]
        for command, expected in (
            (["check", str(path), *json_flag], 2 if name == "empty-folder" else 1),
            (["inspect", str(path), *json_flag], 1),
            (["inspect", str(path), *json_flag, *heatmap], 1),
        ):
            assert main(command) == expected, (name, command)
            out, err = capsys.readouterr()
            text = out + err
            assert "object at 0x" not in text and "Traceback" not in text, (name, command, text)
            assert "error" in text or "pixel detector unavailable" in text, (name, command, text)
            assert not (tmp_path / f"{name}-heat.png").exists()


def test_inspect_without_a_model_exits_3_and_still_reports_metadata(
    sentry_home: Path, empty_builtin: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("sentry_image.paths.BUILTIN_MODELS_DIR", empty_builtin)
    image = tmp_path / "a.jpg"
    image.write_bytes(encode(photo_like(np.random.default_rng(2), 64), "JPEG"))
    assert main(["inspect", str(image), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["pixel_error"]["code"] == "no_model" and "evidence" in report
    assert main(["check", str(image)]) == 3


def test_models_list_fits_80_columns(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if "sentry-" in line]
    assert len(rows) >= 3 and all(line.split()[-1] in ("built-in", "onnx") for line in rows)  # one line each
    assert not any("…" in line for line in lines)  # nothing cut short
    assert any(line.lstrip().startswith("*") for line in rows)  # the active model
