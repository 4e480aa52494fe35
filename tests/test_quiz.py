"""'Can you tell?' in the terminal: rounds drawn from a labelled dataset, answered through stdin, judged,
compared with the model on the same images, kept in the data folder and exported as CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_DATA, tell_tale_dataset
from sentry_image.cli import main
from sentry_image.errors import SentryError
from sentry_image.quiz.rounds import (
    PUBLISHED_HUMAN_ACCURACY,
    Answer,
    draw_round,
    history_file,
    picture_png,
    results,
)
from sentry_image.training.datasets import open_dataset
from sentry_image.training.datasets.sample import AI, REAL, Sample


def test_rounds_are_balanced_and_repeatable(tiny_dataset: Path) -> None:
    samples = open_dataset(tiny_dataset, "val")
    one = draw_round(samples, 10, seed=4)
    assert [s.key for s in one] == [s.key for s in draw_round(samples, 10, seed=4)]
    assert sum(s.label for s in one) == 5 and len({s.key for s in one}) == 10
    assert len(draw_round(samples, 1000, seed=1)) == len(samples)  # capped by what there is
    with pytest.raises(SentryError, match="no labelled images"):
        draw_round([], 4)


def test_results_compare_person_model_and_the_published_figure() -> None:
    answers = [
        Answer("a", "ai", "ai", "likely_ai", 0.9, "ai", ""),
        Answer("b", "real", "ai", "uncertain", 0.4, "real", ""),
        Answer("c", "real", "real", None, None, None, "not scored"),
    ]
    r = results(answers)
    assert r["you"] == pytest.approx(2 / 3) and r["model"] == 1.0 and r["model_scored"] == 2
    assert r["published_human"] == PUBLISHED_HUMAN_ACCURACY == 0.613


def play(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, args: list[str], keys: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(keys))
    assert main(["quiz", *args]) == 0
    return capsys.readouterr().out


def test_a_round_through_the_terminal(store_with_model, tiny_dataset: Path, monkeypatch, capsys) -> None:
    out = play(
        monkeypatch, capsys, ["--data", str(tiny_dataset), "--rounds", "4", "--seed", "2"], "r\nmaybe\na\nai\nreal\n"
    )
    assert out.count("Real or AI?") == 5 and "answer r (real), a (AI) or q" in out  # "maybe" was asked again
    assert "people in the published study" in out and "61.3%" in out and "model tiny-npr" in out
    shown = [line.split()[0] for line in out.splitlines() if "sentry-quiz-" in line]
    assert len(shown) == 4 and not any("real" in p or "fake" in p for p in shown)  # neutral names
    (saved,) = [json.loads(line) for line in history_file().read_text().splitlines()]
    assert saved["model"] == "tiny-npr" and len(saved["answers"]) == 4
    truths = [a["truth"] for a in saved["answers"]]
    guesses = ["real", "ai", "ai", "real"]
    assert [a["guess"] for a in saved["answers"]] == guesses
    assert saved["accuracy"]["you"] == sum(t == g for t, g in zip(truths, guesses, strict=True)) / 4
    assert all(a["model_verdict"] in ("likely_ai", "uncertain", "likely_real") for a in saved["answers"])
    # An "uncertain" verdict says which way the model leans: that is the answer it is judged by.
    uncertain = [a for a in saved["answers"] if a["model_verdict"] == "uncertain"]
    assert out.count("leaning") == len(uncertain)
    assert out.count(": right") + out.count(": wrong") == 4


def test_stopping_early_keeps_the_answers_given(
    store_with_model, tiny_dataset: Path, monkeypatch, capsys, tmp_path
) -> None:
    play(monkeypatch, capsys, ["--data", str(tiny_dataset), "--rounds", "6"], "a\nq\n")
    play(monkeypatch, capsys, ["--data", str(tiny_dataset), "--rounds", "3"], "")  # no answer: nothing saved
    rounds = history_file().read_text().splitlines()
    assert len(rounds) == 1 and len(json.loads(rounds[0])["answers"]) == 1
    out = play(monkeypatch, capsys, ["--export-csv", str(tmp_path / "quiz.csv")], "")
    assert "wrote 1 rounds" in out
    (row,) = list(csv.DictReader((tmp_path / "quiz.csv").open()))
    assert row["guess"] == "ai" and row["model"] == "tiny-npr" and row["correct"] in ("True", "False")


def test_bad_quiz_arguments_are_clear_errors(store_with_model, tmp_path: Path, capsys) -> None:
    assert main(["quiz"]) == 2 and "--data is needed" in capsys.readouterr().out
    assert main(["quiz", "--data", str(tmp_path / "nowhere")]) == 2 and "not found" in capsys.readouterr().out
    assert main(["quiz", "--data", str(tmp_path), "--rounds", "0"]) == 2


def test_the_person_sees_the_pixels_alone(tmp_path: Path) -> None:
    data = tell_tale_dataset(tmp_path)
    camera = Sample(str(data / "val" / "real" / "camera.jpg"), REAL)
    shown = Image.open(io.BytesIO(picture_png(camera)))
    assert shown.format == "PNG" and shown.size == (48, 64)  # upright, as a viewer would show it
    assert not shown.getexif() and "exif" not in shown.info  # no camera metadata to read the answer from
    original = np.asarray(Image.open(camera.key).transpose(Image.Transpose.ROTATE_270))
    assert np.array_equal(np.asarray(shown), original)  # the same pixels, losslessly
    with pytest.raises(SentryError, match="corrupt|truncated|not a supported"):
        picture_png(Sample(str(data / "val" / "fake" / "broken.png"), AI))


def test_the_terminal_shows_pngs_and_skips_what_does_not_decode(
    store_with_model, tmp_path, monkeypatch, capsys
) -> None:
    data = tell_tale_dataset(tmp_path / "data")
    out = play(monkeypatch, capsys, ["--data", str(data), "--rounds", "3"], "r\na\n")
    shown = [line.split()[0] for line in out.splitlines() if "sentry-quiz-" in line]
    assert len(shown) == 2 and all(p.endswith(".png") for p in shown)  # not .jpg / .webp: no format cue
    assert out.count("skipped, unreadable") == 1 and "not a supported image" in out
    (saved,) = [json.loads(line) for line in history_file().read_text().splitlines()]
    assert len(saved["answers"]) == 2 and "broken" not in json.dumps(saved)


@pytest.mark.skipif(not SHARED_DATA.is_file(), reason="../shared/data is not here")
def test_a_round_from_the_shared_manifest_draws_its_val_split(store_with_model, monkeypatch, capsys) -> None:
    play(monkeypatch, capsys, ["--data", str(SHARED_DATA), "--rounds", "6", "--seed", "3"], "r\na\nr\na\nr\na\n")
    (saved,) = [json.loads(line) for line in history_file().read_text().splitlines()]
    with SHARED_DATA.open(newline="") as fh:
        rows = {str(SHARED_DATA.parent / r["file"]): r for r in csv.DictReader(fh)}
    drawn = [rows[a["image"]] for a in saved["answers"]]
    assert len(drawn) == 6 and {r["split"] for r in drawn} == {"val"}
    assert [a["truth"] for a in saved["answers"]].count("ai") == 3  # half and half
    assert all(a["truth"] == r["label"] for a, r in zip(saved["answers"], drawn, strict=True))
