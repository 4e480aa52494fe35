"""The desktop app's "Can you tell?" rounds: one round at a time, the model's view computed in-process
(ONNX Runtime) when the person has answered, saved to the same history as the terminal quiz."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentry_image.engine.decode import sniff_format
from sentry_image.quiz.rounds import Answer, draw_round, model_view, results, save_round, truth_of
from sentry_image.training.datasets.sample import Sample

MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif", "BMP": "image/bmp"}


@dataclass
class QuizRound:
    """A round in progress: its images, the answers so far, and the model that judges with the person."""

    dataset: str
    images: list[Sample]
    detector: Any
    answers: list[Answer] = field(default_factory=list)
    id: str = field(default_factory=lambda: secrets.token_hex(8))

    def image(self, index: int) -> dict[str, Any]:
        """The image the person sees (as a data URL: its file name could give the answer away)."""
        data = self.images[index].read()
        mime = MIME.get(sniff_format(data) or "", "image/png")
        return {
            "index": index,
            "count": len(self.images),
            "dataUrl": f"data:{mime};base64," + base64.b64encode(data).decode(),
        }

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
            "model_correct": answer.model_correct,
            "explanation": answer.explanation,
            "source": sample.key,
        }
        if len(self.answers) < len(self.images):
            out["next"] = self.image(len(self.answers))
        else:
            save_round(self.answers, self.dataset, self.detector.model_id)
            out["results"] = results(self.answers)
        return out


def start_round(dataset: str, count: int, detector: Any, split: str = "val") -> QuizRound:
    """Draw a round from a labelled dataset (its ``split`` where it has splits, else all of it)."""
    from sentry_image.training.datasets import open_dataset

    samples = open_dataset(dataset, split) or open_dataset(dataset, "")
    return QuizRound(dataset, draw_round(samples, count), detector)
