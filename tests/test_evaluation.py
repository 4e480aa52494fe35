"""Evaluation and the leaderboard on the tiny trained model."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from sentry_image.cli import main


def test_eval_writes_leaderboard_and_plots(trained_model_dir: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    assert main(["eval", "--model", str(trained_model_dir), "--data", str(tiny_dataset), "--out", str(out)]) == 0
    data = json.loads((out / "leaderboard.json").read_text())
    (entry,) = data["entries"]
    assert entry["model"] == "tiny-npr" and entry["overall"]["n"] == 48
    assert set(entry["robustness"]) == {"jpeg95", "jpeg75", "jpeg50", "webp80", "resize0.5", "crop0.5"}
    assert "ai:synthetic" in entry["groups"] and "real:synthetic" in entry["groups"]
    md = (out / "leaderboard.md").read_text()
    assert "tiny-npr" in md and "Robustness" in md
    assert f"Produced by: `sentry-image eval --model {trained_model_dir} --data {tiny_dataset} --split val" in md
    for name in ("roc_tiny-npr.png", "reliability.png", "robustness.png", "leaderboard.png"):
        with Image.open(out / name) as img:
            assert img.width > 300


def test_leaderboard_merges_runs(trained_model_dir: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["--data", str(tiny_dataset), "--no-robustness", "--limit", "20"]
    assert main(["eval", "--model", str(trained_model_dir), "--out", str(a), *args]) == 0
    assert main(["eval", "--model", str(trained_model_dir), "--out", str(b), *args]) == 0
    merged = tmp_path / "merged"
    assert main(["leaderboard", str(a), str(b / "leaderboard.json"), "--out", str(merged)]) == 0
    assert len(json.loads((merged / "leaderboard.json").read_text())["entries"]) == 2


def test_eval_errors_are_clear(tmp_path: Path, capsys) -> None:
    assert main(["eval", "--model", str(tmp_path), "--data", str(tmp_path / "nope")]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "missing.json")]) == 2
