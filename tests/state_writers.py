"""Child process for tests/test_crash_safety.py: rewrites one kind of state in a loop until killed.

Usage: ``python state_writers.py SCENARIO [MODEL_FOLDER]`` with SENTRY_IMAGE_HOME set. It prints
``ready`` once its imports are done, so the parent's SIGKILL lands in the writing loop.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from pathlib import Path


def settings() -> None:
    from sentry_image.settings import update_settings

    print("ready", flush=True)
    for i in itertools.count():
        update_settings(counter=i, blob="x" * (300_000 + i % 7))


def token() -> None:
    from sentry_image.paths import token_file
    from sentry_image.service.pairing import load_or_create_token

    print("ready", flush=True)
    while True:
        token_file().unlink(missing_ok=True)
        load_or_create_token()


def store(model_folder: str) -> None:
    from sentry_image.errors import ModelError
    from sentry_image.registry.card import read_card
    from sentry_image.registry.store import ModelStore

    empty = Path(model_folder).parent / "no-builtin"
    empty.mkdir(exist_ok=True)
    st = ModelStore(builtin_dir=empty)
    model_id = read_card(Path(model_folder))["id"]
    print("ready", flush=True)
    while True:
        with contextlib.suppress(ModelError):  # installed by the previous (killed) run
            st.import_folder(Path(model_folder))
        st.use(model_id)
        st.remove(model_id)


def checkpoint(folder: str) -> None:
    import torch

    from sentry_image.training.checkpoint import save_checkpoint

    ckpt = Path(folder)
    ckpt.mkdir(parents=True, exist_ok=True)
    print("ready", flush=True)
    for epoch in itertools.count():
        w = {"w": torch.full((512, 512), float(epoch))}
        save_checkpoint(ckpt, w, w, {"lr": epoch}, step=epoch * 10, epoch=epoch, best_auc=0.5, history=[{"e": epoch}])


if __name__ == "__main__":
    scenario, *rest = sys.argv[1:]
    {"settings": settings, "token": token, "store": store, "checkpoint": checkpoint}[scenario](*rest)
