"""The desktop app's "Can you tell?" rounds: one round at a time, the model's view computed in-process
(ONNX Runtime) when the person has answered, saved to the same history as the terminal quiz."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentry_image.errors import SentryError
from sentry_image.quiz.rounds import Answer, draw_round, model_view, picture_png, results, save_round, truth_of
from sentry_image.training.datasets.sample import Sample


@dataclass
class QuizRound:
    """A round in progress: its images, the answers so far, and the model that judges with the person."""

    dataset: str
    images: list[Sample]
    detector: Any
    answers: list[Answer] = field(default_factory=list)
    id: str = field(default_factory=lambda: secrets.token_hex(8))

    def current_image(self) -> dict[str, Any] | None:
        """The picture the person sees next, as a PNG data URL: no file name, format or metadata to give
        the answer away, and formats the web view cannot show (TIFF, HEIC) are shown too. An image that
        does not decode leaves the round; None when no image is left."""
        while len(self.answers) < len(self.images):
            index = len(self.answers)
            try:
                png = picture_png(self.images[index])
            except (SentryError, OSError):
                del self.images[index]
                continue
            return {
                "index": index,
                "count": len(self.images),
                "dataUrl": "data:image/png;base64," + base64.b64encode(png).decode(),
            }
        return None

    def answer(self, guess: str) -> dict[str, Any]:
        """Judge the current image; the reveal, then the next image or the round's results."""
        sample = self.images[len(self.answers)]
        answer = Answer(str(Path(sample.key).name), truth_of(sample), guess, **model_view(self.detector, sample))
        self.answers.append(answer)
        out: dict[str, Any] = {
            "truth": answer.truth,
            "correct": answer.correct,
            "model_verdict": answer.model_verdict,
            "model_score": answer.model_score,
            "model_guess": answer.model_guess,
            "model_correct": answer.model_correct,
            "explanation": answer.explanation,
            "source": describe_source(sample),
        }
        upcoming = self.current_image()
        if upcoming is not None:
            out["next"] = upcoming
        else:
            save_round(self.answers, self.dataset, self.detector.model_id)
            out["results"] = results(self.answers)
        return out


def describe_source(sample: Any) -> str:
    """Where an image came from, told after the answer, without its path or file name (dataset folders
    are often named ``ai/`` or ``real/``): its generator or photo category and its source collection."""
    what = (
        (sample.generator or sample.family or "an unnamed generator")
        if sample.label == 1
        else (f"a photo ({sample.category})" if sample.category else "a photo")
    )
    return f"{what}, from {sample.source}" if sample.source else what


def start_round(dataset: str, count: int, detector: Any, split: str = "val") -> QuizRound:
    """Draw a round from a labelled dataset (its ``split`` where it has splits, else all of it)."""
    from sentry_image.training.datasets import open_dataset

    samples = open_dataset(dataset, split) or open_dataset(dataset, "")
    return QuizRound(dataset, draw_round(samples, count), detector)
