"""``sentry-image train``: argument parsing for the training loop."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from sentry_image.engine.device import torch_installed

TRAIN_INSTALL = (
    "install the training set with `.venv/bin/pip install -r requirements-train.txt` (or SENTRY_TRAIN=1 ./run.sh)"
)


def holdout_fraction(text: str) -> float:
    """``--holdout-fraction``: a number from 0 (nothing held out) up to, not including, 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1 (got {value})")
    return value


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``train`` subcommand."""
    p = sub.add_parser(
        "train",
        help="train a detector and write a model folder",
        description="Train a detector. Works unchanged under torchrun (DDP).",
    )
    # Checked when training starts: listing the names here would import PyTorch for every command.
    p.add_argument("--arch", required=True, help="detector architecture: timm, npr or spectral")
    p.add_argument(
        "--data", required=True, nargs="+", help="dataset path(s): manifest.csv, folder layout or tar shards"
    )
    p.add_argument("--val-data", nargs="*", default=[], help="validation dataset(s); default: --data's val split")
    p.add_argument("--out", required=True, help="run folder (checkpoints/ and model/ are written there)")
    p.add_argument("--arch-options", default="{}", help='JSON options, e.g. \'{"backbone": "resnet18"}\'')
    p.add_argument("--init-checkpoint", default="", help="local backbone checkpoint (timm architecture)")
    p.add_argument("--aligned-weights", default="", help="folder with TAESD-family autoencoder weights")
    p.add_argument(
        "--simulated-decoders", type=int, default=0, help="add twins from this many simulated generator decoders"
    )
    p.add_argument(
        "--twin-downscale",
        type=int,
        default=1,
        help="shrink real photos by this factor before making twins; the shrunk photos train as lossless reals",
    )
    p.add_argument(
        "--augment",
        default="semantic",
        choices=["semantic", "artifact"],
        help="augmentation policy (training/augment.py)",
    )
    p.add_argument(
        "--holdout-fraction",
        type=holdout_fraction,
        default=0.0,
        help="leave out this fraction of the training sources (for fitting a fusion combiner later)",
    )
    p.add_argument("--crop", type=int, default=0, help="training crop / tile size (default: per architecture)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--samples-per-epoch", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--val-limit", type=int, default=0, help="validate on at most this many images")
    p.add_argument("--model-id", default="")
    p.add_argument("--model-name", default="")
    p.set_defaults(func=run_train)


def add_fuse_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``fuse`` subcommand."""
    p = sub.add_parser(
        "fuse",
        help="combine a semantic and an artifact expert into one calibrated model",
        description="Fit a logistic regression over the experts' logits, gated by the file's compression, on "
        "the training sources both experts were trained without (train them with the same --holdout-fraction).",
    )
    p.add_argument("--semantic", required=True, help="the semantic expert's model folder")
    p.add_argument("--artifact", required=True, help="the artifact expert's model folder")
    p.add_argument("--data", required=True, help="the dataset the experts were trained on")
    p.add_argument("--holdout-fraction", type=holdout_fraction, required=True, help="the experts' --holdout-fraction")
    p.add_argument("--out", required=True, help="folder of the fused model")
    p.add_argument("--model-id", required=True)
    p.add_argument("--model-name", default="Sentry fused detector")
    p.set_defaults(func=run_fuse)


def run_fuse(args: argparse.Namespace) -> int:
    """Fit the combiner and write the fused model folder."""
    if not torch_installed():
        print(f"error: fusing needs PyTorch: {TRAIN_INSTALL}", file=sys.stderr)
        return 2
    from pathlib import Path

    from sentry_image.training.fuse import fuse

    experts = {"semantic": Path(args.semantic), "artifact": Path(args.artifact)}
    return _exit_code(
        lambda: fuse(experts, args.data, Path(args.out), args.holdout_fraction, args.model_id, args.model_name)
    )


def _exit_code(step: Callable[[], object]) -> int:
    """Run a model-making step: 0 when it succeeds, 2 with its error on one line when it fails."""
    from sentry_image.errors import SentryError

    try:
        step()
    except (SentryError, ValueError, FileNotFoundError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    return 0


def run_train(args: argparse.Namespace) -> int:
    """Run the training loop from parsed arguments."""
    if not torch_installed():
        print(f"error: training needs PyTorch: {TRAIN_INSTALL}", file=sys.stderr)
        return 2
    from sentry_image.models import known_architectures
    from sentry_image.training.loop import TrainConfig, train

    if args.arch not in known_architectures():
        print(f"error: unknown --arch {args.arch!r}; known: {', '.join(known_architectures())}", file=sys.stderr)
        return 2
    cfg = TrainConfig(
        arch=args.arch,
        data=args.data,
        val_data=args.val_data,
        out=args.out,
        arch_options=json.loads(args.arch_options),
        init_checkpoint=args.init_checkpoint,
        aligned_weights=args.aligned_weights,
        simulated_decoders=args.simulated_decoders,
        twin_downscale=args.twin_downscale,
        augment=args.augment,
        holdout_fraction=args.holdout_fraction,
        crop=args.crop,
        epochs=args.epochs,
        samples_per_epoch=args.samples_per_epoch,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        workers=args.workers,
        val_limit=args.val_limit,
        model_id=args.model_id,
        model_name=args.model_name,
    )
    train(cfg)
    return 0


def add_quantize_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``quantize`` subcommand."""
    p = sub.add_parser(
        "quantize",
        help="make an int8 copy of a model for fast CPU inference, calibrated and measured on its own",
        description="Static int8 quantisation with ONNX Runtime: activation ranges from --data's train split, "
        "temperature, shift and the badge point from its val split, both protocols measured on val into the card.",
    )
    p.add_argument("--model", required=True, help="installed model id or model folder to quantise")
    p.add_argument("--data", required=True, help="dataset with train and val splits")
    p.add_argument("--out", required=True, help="folder of the int8 model")
    p.add_argument("--model-id", required=True)
    p.add_argument("--model-name", default="")
    p.add_argument("--calibration-images", type=int, default=64, help="train images whose tiles set the ranges")
    p.add_argument(
        "--method",
        default="Percentile",
        choices=("Percentile", "MinMax", "Entropy"),
        help="how activation ranges are chosen",
    )
    p.add_argument("--val-limit", type=int, default=0, help="calibrate and measure on at most this many val images")
    p.set_defaults(func=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    """Quantise, calibrate and measure; write the int8 model folder."""
    if not torch_installed():
        print(f"error: quantising needs the training set: {TRAIN_INSTALL}", file=sys.stderr)
        return 2
    from pathlib import Path

    from sentry_image.registry.store import ModelStore
    from sentry_image.training.quantize import quantize_model

    def step() -> None:
        out = quantize_model(
            ModelStore().folder_for(args.model),
            args.data,
            Path(args.out),
            args.model_id,
            args.model_name,
            calibration_images=args.calibration_images,
            method=args.method,
            val_limit=args.val_limit,
        )
        print(f"wrote {out}; install it with `sentry-image models import {out}`")

    return _exit_code(step)


def add_train_probe_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``train-probe`` subcommand."""
    from sentry_image.backbones.catalog import BACKBONES
    from sentry_image.probe.views import VIEWS
    from sentry_image.training.probe_features import AUGMENTATIONS

    p = sub.add_parser(
        "train-probe",
        help="train a linear head on a frozen backbone's per-layer features (clip-layers) on the CPU",
        description="Extract (and cache) the backbone's per-layer features of every train and val image, fit a "
        "logistic regression with C chosen on val by the weaker protocol, then calibrate and measure it on val.",
    )
    p.add_argument("--data", required=True, help="dataset with train and val splits (e.g. a manifest.csv)")
    p.add_argument("--out", required=True, help="run folder; the model is written to OUT/model")
    p.add_argument("--backbone", default="clip-vit-b16", choices=sorted(BACKBONES))
    p.add_argument("--views", nargs="+", default=list(VIEWS), choices=VIEWS, help="the crops the head reads")
    p.add_argument("--layers", nargs="+", type=int, default=list(range(12)), help="blocks whose tokens it reads")
    p.add_argument("--tokens", nargs="+", default=["cls"], choices=["cls", "patch_mean"])
    p.add_argument("--native-crops", type=int, default=1, help="native crops per image when scoring (1: centre)")
    p.add_argument(
        "--augment",
        nargs="*",
        default=[],
        choices=[a for a in AUGMENTATIONS if a != "none"],
        help="add feature rows of transformed training images",
    )
    p.add_argument(
        "--c-values", nargs="+", type=float, default=None, help="C values tried on val (default: the recipe's)"
    )
    p.add_argument("--cache", default="", help="feature cache folder (default: the data folder's cache/features)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-id", default="sentry-clip-layers")
    p.add_argument("--model-name", default="")
    p.set_defaults(func=run_train_probe)


def run_train_probe(args: argparse.Namespace) -> int:
    """Train a probe from parsed arguments."""
    if not torch_installed():
        print(f"error: calibrating needs PyTorch: {TRAIN_INSTALL}", file=sys.stderr)
        return 2
    from sentry_image.training.probe_train import C_VALUES, ProbeConfig, train_probe

    def step() -> None:
        out = train_probe(
            ProbeConfig(
                data=args.data,
                out=args.out,
                backbone=args.backbone,
                views=tuple(args.views),
                layers=tuple(args.layers),
                tokens=tuple(args.tokens),
                native_crops=args.native_crops,
                augmentations=tuple(args.augment),
                c_values=tuple(args.c_values or C_VALUES),
                model_id=args.model_id,
                model_name=args.model_name,
                cache=args.cache,
                seed=args.seed,
            )
        )
        print(f"wrote {out}; install it with `sentry-image models import {out}`")

    return _exit_code(step)
