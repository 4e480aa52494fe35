"""Quiz rounds: drawing images, judging answers, the model's view of each image, results and history.

The published human figure is from the Sentry benchmark's human study ("Seeing is not always
believing", NeurIPS 2023): people misclassified 38.7% of images, i.e. 61.3% were right.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sentry_image.atomic_files import atomic_write_text, locked
from sentry_image.engine.decode import decode_image
from sentry_image.engine.pipeline import check_one
from sentry_image.errors import SentryError
from sentry_image.paths import data_dir
from sentry_image.training.datasets.sample import AI, Sample

PUBLISHED_HUMAN_ACCURACY = 0.613
ANSWERS = ("real", "ai")


def draw_round(samples: list[Sample], count: int, seed: int | None = None) -> list[Sample]:
    """``count`` images, half real and half AI where the dataset allows, in random order."""
    rng = random.Random(seed)
    real = [s for s in samples if s.label != AI]
    fake = [s for s in samples if s.label == AI]
    if not real and not fake:
        raise SentryError("the dataset has no labelled images")
    n_fake = min(len(fake), count // 2 if real else count)
    n_real = min(len(real), count - n_fake)
    n_fake = min(len(fake), count - n_real)
    picked = rng.sample(real, n_real) + rng.sample(fake, n_fake)
    rng.shuffle(picked)
    return picked


@dataclass
class Answer:
    """One image of a round: the truth, the person's guess and the model's view."""

    image: str
    truth: str
    guess: str
    model_verdict: str | None
    model_score: float | None
    model_guess: str | None
    explanation: str

    @property
    def correct(self) -> bool:
        """Whether the person was right."""
        return self.guess == self.truth

    @property
    def model_correct(self) -> bool | None:
        """Whether the model's best guess (P(AI) >= 0.5) was right; None when it could not score."""
        return None if self.model_guess is None else self.model_guess == self.truth


def picture_png(sample: Sample) -> bytes:
    """What the person is shown: the image's pixels alone, upright, as a PNG.

    The file itself gives cues that are not in the picture: its format (generators often write WebP or
    PNG, cameras JPEG), its size and its metadata. The person judges the picture; the model still reads
    the original file. Raises ``SentryError`` for an image that does not decode.
    """
    out = io.BytesIO()
    decode_image(sample.read()).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def truth_of(sample: Sample) -> str:
    """``"ai"`` or ``"real"``."""
    return "ai" if sample.label == AI else "real"


def model_view(detector: Any, sample: Sample) -> dict[str, Any]:
    """The model's score, verdict, best guess and explanation for one image (an error becomes the
    explanation, with no score)."""
    try:
        fields = check_one(sample.read(), detector)
    except (SentryError, OSError) as exc:
        return {"model_verdict": None, "model_score": None, "model_guess": None, "explanation": f"not scored: {exc}"}
    return {
        "model_verdict": fields["verdict"],
        "model_score": fields["score"],
        "model_guess": "ai" if fields["score"] >= 0.5 else "real",
        "explanation": fields["explanation"],
    }


def results(answers: list[Answer]) -> dict[str, Any]:
    """Accuracy of the person and of the model on the same images, beside the published human figure."""
    scored = [a for a in answers if a.model_correct is not None]
    return {
        "images": len(answers),
        "you": sum(a.correct for a in answers) / len(answers) if answers else None,
        "model": sum(bool(a.model_correct) for a in scored) / len(scored) if scored else None,
        "model_scored": len(scored),
        "published_human": PUBLISHED_HUMAN_ACCURACY,
    }


def history_file() -> Path:
    """Where finished rounds are kept (JSON lines, in the data folder)."""
    folder = data_dir() / "quiz"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "history.jsonl"


def save_round(answers: list[Answer], dataset: str, model: str) -> dict[str, Any]:
    """Append a finished round to the history (crash-safe: the file is replaced whole); returns it."""
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "dataset": dataset,
        "model": model,
        "accuracy": results(answers),
        "answers": [asdict(a) for a in answers],
    }
    path = history_file()
    with locked(path):
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        atomic_write_text(path, old + json.dumps(record) + "\n")
    return record


def load_history() -> list[dict[str, Any]]:
    """Every saved round, oldest first (unreadable lines are skipped)."""
    path = history_file()
    if not path.is_file():
        return []
    rounds = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rounds.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rounds


CSV_COLUMNS = [
    "time",
    "dataset",
    "model",
    "image",
    "truth",
    "guess",
    "correct",
    "model_verdict",
    "model_score",
    "model_correct",
]


def history_csv(rounds: list[dict[str, Any]]) -> str:
    """The history as CSV, one row per answered image."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in rounds:
        for a in r.get("answers", []):
            writer.writerow(
                {
                    **a,
                    "time": r.get("time"),
                    "dataset": r.get("dataset"),
                    "model": r.get("model"),
                    "correct": a.get("guess") == a.get("truth"),
                    "model_correct": None if a.get("model_guess") is None else a.get("model_guess") == a.get("truth"),
                }
            )
    return buf.getvalue()
