"""``sentry-image quiz``: a round of "Can you tell?" in the terminal."""

from __future__ import annotations

import argparse
import sys
import tempfile
import webbrowser
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sentry_image.errors import SentryError
from sentry_image.quiz.rounds import (
    Answer,
    draw_round,
    history_csv,
    load_history,
    model_view,
    picture_png,
    results,
    save_round,
    truth_of,
)
from sentry_image.training.datasets.sample import Sample

KEYS = {"r": "real", "real": "real", "a": "ai", "ai": "ai"}


def add_quiz_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``quiz``."""
    p = sub.add_parser(
        "quiz",
        help='"Can you tell?": real or AI, you against the model on the same images',
        description="Shows images from a labelled dataset one at a time; answer r (real) or a (AI), q to stop. "
        "After each answer: the truth and the model's verdict. At the end: your accuracy, the model's, and the "
        "published human figure (61.3%). Rounds are kept in the data folder.",
    )
    p.add_argument("--data", help="labelled dataset: manifest.csv, real/ + fake/ folders, ... (as for train)")
    p.add_argument("--split", default="val", help="split to draw from where the layout has splits (default: val)")
    p.add_argument("--rounds", type=int, default=10, help="images per round (default 10)")
    p.add_argument("--seed", type=int, default=None, help="draw the same images again")
    p.add_argument("--model", default=None, help="model id (default: the active model)")
    p.add_argument("--open", action="store_true", help="open each image in the system's image viewer")
    p.add_argument("--export-csv", metavar="PATH", help="write every saved round as CSV and exit")
    p.set_defaults(func=run_quiz)


def ask(console: Console) -> str | None:
    """The person's answer: "real", "ai", or None to stop."""
    while True:
        console.print("Real or AI? [bold]r[/]/[bold]a[/] (q to stop): ", end="")
        line = sys.stdin.readline()
        if not line or line.strip().lower() in ("q", "quit"):
            return None
        guess = KEYS.get(line.strip().lower())
        if guess:
            return guess
        console.print("[yellow]answer r (real), a (AI) or q[/]")


def run_quiz(args: argparse.Namespace) -> int:
    """Play one round and print the comparison."""
    from sentry_image.atomic_files import atomic_write_text

    console = Console()
    if args.export_csv:
        rounds = load_history()
        atomic_write_text(Path(args.export_csv), history_csv(rounds))
        console.print(f"wrote {len(rounds)} rounds to {args.export_csv}")
        return 0
    if not args.data:
        console.print("[red]error:[/] --data is needed (a labelled dataset, e.g. ../shared/data)")
        return 2
    if args.rounds < 1:
        console.print("[red]error:[/] --rounds must be at least 1")
        return 2
    from sentry_image.engine.load import load_detector
    from sentry_image.registry.store import ModelStore
    from sentry_image.training.datasets import open_dataset

    try:
        samples = open_dataset(args.data, args.split)
        picked = draw_round(samples, args.rounds, args.seed)
        detector = load_detector(ModelStore().folder_for(args.model))
    except (SentryError, ValueError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/] {getattr(exc, 'message', exc)}")
        return 2
    with tempfile.TemporaryDirectory(prefix="sentry-quiz-") as tmp:
        answers = play(console, picked, detector, Path(tmp), args.open)
    if not answers:
        console.print("no answers, nothing saved")
        return 0
    save_round(answers, str(args.data), detector.model_id)
    r = results(answers)
    table = Table(title=f"Can you tell? {r['images']} images")
    table.add_column("who")
    table.add_column("right", justify="right")
    table.add_row("you", f"{r['you']:.0%}")
    table.add_row(f"model {detector.model_id}", f"{r['model']:.0%}" if r["model"] is not None else "-")
    table.add_row("people in the published study", f"{r['published_human']:.1%}")
    console.print(table)
    return 0


def shown_copy(sample: Sample, folder: Path, index: int) -> Path:
    """The picture as a PNG under a neutral name (dataset paths often say real or AI)."""
    path = folder / f"{index:02d}.png"
    path.write_bytes(picture_png(sample))
    return path


def model_says(answer: Answer) -> str:
    """The model's verdict and score; an "uncertain" one says which way it leans, the answer it is judged by."""
    if not answer.model_verdict:
        return "the model could not score it"
    lean = ""
    if answer.model_verdict == "uncertain":
        lean = f", leaning {'AI' if answer.model_guess == 'ai' else 'real'}"
    verdict = answer.model_verdict.replace("_", " ")
    judged = "right" if answer.model_correct else "wrong"
    return f"the model says {verdict} (P(AI) {answer.model_score:.2f}){lean}: {judged}"


def play(console: Console, picked: list[Sample], detector: Any, folder: Path, open_viewer: bool) -> list[Answer]:
    """Ask about each image in turn; the answers given before a stop."""
    answers: list[Answer] = []
    for i, sample in enumerate(picked, 1):
        console.rule(f"image {i} of {len(picked)}")
        try:
            shown = shown_copy(sample, folder, i)
        except (SentryError, OSError) as exc:
            console.print(f"[yellow]skipped, unreadable: {getattr(exc, 'message', exc)}[/]")
            continue
        console.print(str(shown))
        if open_viewer:
            webbrowser.open(shown.as_uri())
        guess = ask(console)
        if guess is None:
            break
        view = model_view(detector, sample)
        answer = Answer(sample.key, truth_of(sample), guess, **view)
        answers.append(answer)
        mark = "[green]right[/]" if answer.correct else "[red]wrong[/]"
        truth = "AI" if answer.truth == "ai" else "real"
        console.print(f"You are {mark}: it is [bold]{truth}[/]; {model_says(answer)}.")
        console.print(f"[dim]{answer.explanation}\nfrom {sample.key}[/]")
    return answers
