"""The training loop: one loop for every architecture, on CPU, one GPU, or many under torchrun (DDP).

``train(config)`` trains, validates each epoch with the same tiled scoring the user gets, keeps the
best epoch by validation ROC-AUC, calibrates it on the validation split and writes a model folder
(``model.safetensors`` + ``model.json``) that the registry can import.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from safetensors.torch import load_file
from torch.utils.data import DataLoader, WeightedRandomSampler

from sentry_image.engine.decode import decode_image
from sentry_image.engine.detector import Detector
from sentry_image.engine.device import resolve_device
from sentry_image.engine.tiling import InputSpec
from sentry_image.evaluation.metrics import summary
from sentry_image.evaluation.scoring import score_samples
from sentry_image.models import ARCHITECTURES, build_model
from sentry_image.models.timm_classifier import TimmClassifier, load_backbone_checkpoint
from sentry_image.registry.card import WEIGHTS_FILE, sha256_file, write_card
from sentry_image.registry.loading import save_weights
from sentry_image.training.aligned import AlignedFakeGenerator
from sentry_image.training.aligned_cache import TwinMaker, aligned_samples, downscaled
from sentry_image.training.calibrate import fit_calibration
from sentry_image.training.checkpoint import load_checkpoint, save_checkpoint
from sentry_image.training.data import AugmentedImages, ShardStream, balanced_weights, class_counts
from sentry_image.training.datasets import Sample, open_dataset
from sentry_image.training.holdout import split_holdout

console = Console(stderr=True)


@dataclass
class TrainConfig:
    """Everything one training run depends on (stored in the model card)."""

    arch: str
    data: list[str]
    out: str
    val_data: list[str] = field(default_factory=list)
    train_split: str = "train"
    val_split: str = "val"
    arch_options: dict[str, Any] = field(default_factory=dict)
    init_checkpoint: str = ""
    aligned_weights: str = ""
    simulated_decoders: int = 0
    twin_downscale: int = 1
    augment: str = "semantic"
    holdout_fraction: float = 0.0
    crop: int = 0
    epochs: int = 5
    samples_per_epoch: int = 0
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "auto"
    workers: int = 1
    val_limit: int = 0
    model_id: str = ""
    model_name: str = ""
    license: str = "Apache-2.0"


def learning_rate_factor(step: int, total: int, warmup: float = 0.05) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to 1% of the peak."""
    warm = max(1, int(total * warmup))
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _setup_distributed(device: torch.device) -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _read_all(paths: list[str], split: str) -> tuple[list[Sample], list[Path]]:
    samples: list[Sample] = []
    shards: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir() and sorted(path.glob("*.tar")) and not (path / "manifest.csv").exists():
            shards += sorted(path.glob("*.tar"))
        elif path.suffix == ".tar":
            shards.append(path)
        else:
            samples += open_dataset(path, split)
    return samples, shards


def _make_model(cfg: TrainConfig) -> torch.nn.Module:
    model = build_model(cfg.arch, cfg.arch_options)
    if cfg.init_checkpoint:
        if not isinstance(model, TimmClassifier):
            raise ValueError("--init-checkpoint is supported for the timm architecture")
        n = load_backbone_checkpoint(model, cfg.init_checkpoint)
        console.print(f"initialised {n} backbone tensors from {cfg.init_checkpoint}")
    return model


def twin_makers(cfg: TrainConfig, reals: list[Sample], cache: Path, device: torch.device) -> list[TwinMaker]:
    """The TAESD-family autoencoders in ``cfg.aligned_weights`` plus ``cfg.simulated_decoders``
    simulated decoders, trained (once, cached) on the first 200 real training photos."""
    gens: list[TwinMaker] = []
    if cfg.aligned_weights:
        gens += AlignedFakeGenerator.available(cfg.aligned_weights, device=str(device))
        if not gens:
            raise ValueError(f"no known autoencoder weights in {cfg.aligned_weights}")
    if cfg.simulated_decoders:
        from sentry_image.training.simulated_decoders import decoder_bank

        def photos() -> list[Image.Image]:  # decoded only when a decoder has to be trained
            out = []
            for s in [r for r in reals if r.label == 0][:200]:
                img = decode_image(s.read())
                out.append(downscaled(img, cfg.twin_downscale, s.key) if cfg.twin_downscale > 1 else img)
            return out

        gens += decoder_bank(photos, cfg.simulated_decoders, cache / f"simulated-decoders-x{cfg.twin_downscale}")
    return gens


def _card(
    cfg: TrainConfig,
    spec: InputSpec,
    calibration: dict[str, Any],
    metrics: dict[str, Any],
    data_card: dict[str, Any],
    sha: str,
) -> dict[str, Any]:
    arch = ARCHITECTURES[cfg.arch]
    options = {**arch.default_options, **cfg.arch_options}
    return {
        "id": cfg.model_id or f"{cfg.arch}-{time.strftime('%Y%m%d-%H%M%S')}",
        "name": cfg.model_name or f"{cfg.arch} detector",
        "version": time.strftime("%Y.%m.%d"),
        "description": f"{cfg.arch} detector trained by sentry-image train",
        "architecture": {"name": cfg.arch, "options": options, "paper": arch.paper},
        "input": {
            "crop": spec.crop,
            "max_tiles": spec.max_tiles,
            "min_side": spec.min_side,
            "resize": "none",
            "aggregate": "mean_logit",
            "mean": list(spec.mean),
            "std": list(spec.std),
        },
        "labels": ["real", "ai"],
        "thresholds": {"likely_ai": 0.7, "likely_real": 0.3},
        "calibration": calibration,
        "training": data_card,
        "metrics": metrics,
        "license": cfg.license,
        "sha256": sha,
    }


def _validate(
    model: torch.nn.Module,
    spec: InputSpec,
    samples: list[Sample],
    device: torch.device,
    calibration: tuple[float, float] = (1.0, 0.0),
) -> tuple[list[float], list[int], dict[str, Any]]:
    card = {
        "id": "validation",
        "input": {"crop": spec.crop, "max_tiles": spec.max_tiles, "mean": list(spec.mean), "std": list(spec.std)},
        "calibration": {"temperature": calibration[0], "shift": calibration[1]},
        "thresholds": {"likely_ai": 0.7, "likely_real": 0.3},
    }
    detector = Detector.from_module(model, card, device=device.type)
    results = score_samples(detector, samples, show_progress=True)
    ok = [r for r in results if r.error is None]
    logits = [r.logit for r in ok]
    labels = [r.sample.label for r in ok]
    probs = np.array([r.score for r in ok])
    return logits, labels, summary(np.array(labels), probs)


def train(cfg: TrainConfig) -> Path:
    """Run one training job; return the folder of the resulting model."""
    device = torch.device(resolve_device(cfg.device))
    _setup_distributed(device)
    rank, world = _dist_info()
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    _seed_everything(cfg.seed)
    out = Path(cfg.out)
    ckpt_dir = out / "checkpoints"
    if rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)

    arch = ARCHITECTURES[cfg.arch]
    spec = InputSpec.from_card({**arch.default_input, **({"crop": cfg.crop} if cfg.crop else {})})

    train_samples, shards = _read_all(cfg.data, cfg.train_split)
    train_samples, held_out = split_holdout(train_samples, cfg.holdout_fraction)
    val_samples, _ = _read_all(cfg.val_data or cfg.data, cfg.val_split)
    if cfg.val_limit and len(val_samples) > cfg.val_limit:
        val_samples = random.Random(cfg.seed).sample(val_samples, cfg.val_limit)
    if not train_samples and not shards:
        raise ValueError("no training samples found")
    if not val_samples:
        raise ValueError("no validation samples found (use --val-data or a dataset with a val split)")
    aligned: list[Sample] = []
    if (cfg.aligned_weights or cfg.simulated_decoders) and train_samples:
        cache = Path(os.environ.get("SENTRY_IMAGE_CACHE", out / "aligned-cache"))
        if rank == 0:
            aligned = aligned_samples(
                train_samples, twin_makers(cfg, train_samples, cache, device), cache, cfg.twin_downscale
            )
        if world > 1:
            dist.barrier()
            if rank != 0:
                gens = twin_makers(cfg, train_samples, cache, device)
                aligned = aligned_samples(train_samples, gens, cache, cfg.twin_downscale, show_progress=False)
        train_samples = train_samples + aligned

    model = _make_model(cfg).to(device)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    core = model.module if world > 1 else model

    if train_samples:
        dataset: Any = AugmentedImages(train_samples, spec, seed=cfg.seed, policy=cfg.augment)
        per_epoch = cfg.samples_per_epoch or len(train_samples)
        generator = torch.Generator().manual_seed(cfg.seed * 1000 + rank)
        sampler = WeightedRandomSampler(balanced_weights(train_samples), per_epoch // world, generator=generator)
        loader = DataLoader(
            dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.workers,
            drop_last=True,
            persistent_workers=cfg.workers > 0,
        )
        steps_per_epoch = len(loader)
    else:
        dataset = ShardStream(shards, spec, seed=cfg.seed, rank=rank, world=world, policy=cfg.augment)
        loader = DataLoader(dataset, batch_size=cfg.batch_size, num_workers=cfg.workers, drop_last=True)
        steps_per_epoch = max(1, (cfg.samples_per_epoch or 10_000) // (cfg.batch_size * world))

    opt = torch.optim.AdamW(core.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = max(1, cfg.epochs * steps_per_epoch)
    use_amp = device.type == "cuda"
    loss_fn = torch.nn.BCEWithLogitsLoss()

    start_epoch, best_auc, history, step_count = 0, -1.0, [], 0
    best_weights: dict[str, torch.Tensor] = {}
    state = load_checkpoint(ckpt_dir)
    if state is not None:
        core.load_state_dict(state["model"])
        best_weights = state["best_model"]
        opt.load_state_dict(state["optimizer"])
        start_epoch, best_auc, history = state["epoch"] + 1, state["best_auc"], state["history"]
        step_count = state["step"]
        if rank == 0:
            console.print(f"resuming after epoch {state['epoch'] + 1} (best val ROC-AUC {best_auc:.4f})")

    started = time.time()
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        dataset.epoch = epoch
        running, seen = 0.0, 0
        columns = [
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=console, disable=rank != 0, transient=False) as progress:
            task = progress.add_task("train", total=steps_per_epoch, epoch=epoch + 1, loss=0.0)
            for step, (x, y) in enumerate(loader):
                if step >= steps_per_epoch:
                    break
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    loss = loss_fn(model(x).float(), y.float())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * learning_rate_factor(step_count, total_steps)
                opt.step()
                step_count += 1
                running += loss.item() * len(y)
                seen += len(y)
                progress.update(task, advance=1, loss=running / max(1, seen))
        entry: dict[str, Any] = {"epoch": epoch + 1, "train_loss": running / max(1, seen)}
        if rank == 0:
            _, _, metrics = _validate(core, spec, val_samples, device)
            entry.update({k: metrics.get(k) for k in ("roc_auc", "ap", "balanced_acc")})
            console.print(
                f"epoch {epoch + 1}: loss {entry['train_loss']:.4f}  val ROC-AUC "
                f"{metrics.get('roc_auc', float('nan')):.4f}  AP {metrics.get('ap', float('nan')):.4f}"
            )
            history.append(entry)
            weights = {k: v.detach().cpu().clone().contiguous() for k, v in core.state_dict().items()}
            if metrics.get("roc_auc", 0.0) > best_auc or not best_weights:
                best_auc = max(best_auc, metrics.get("roc_auc", 0.0))
                best_weights = weights
            save_checkpoint(
                ckpt_dir,
                weights,
                best_weights,
                opt.state_dict(),
                step=step_count,
                epoch=epoch,
                best_auc=best_auc,
                history=history,
            )
        if world > 1:
            dist.barrier()

    train_seconds = time.time() - started
    model_dir = out / "model"
    if rank == 0:
        model_dir.mkdir(parents=True, exist_ok=True)
        best = build_model(cfg.arch, cfg.arch_options)
        best.load_state_dict(best_weights)
        # Ship float16 weights; calibrate and measure the shipped weights, not the float32 ones.
        save_weights(best, model_dir / WEIGHTS_FILE, half=True)
        best.load_state_dict({k: v.float() for k, v in load_file(str(model_dir / WEIGHTS_FILE)).items()})
        logits, labels, _ = _validate(best, spec, val_samples, device)
        temperature, shift = fit_calibration(logits, labels)
        _, _, val_metrics = _validate(best, spec, val_samples, device, (temperature, shift))
        data_card = {
            "config": asdict(cfg),
            "train": {**class_counts(train_samples), "aligned_fakes": len(aligned), "shards": len(shards)},
            "held_out_for_fusion": class_counts(held_out),
            "val": class_counts(val_samples),
            "history": history,
            "train_seconds": round(train_seconds, 1),
            "device": str(device),
            "world_size": world,
            "torch": torch.__version__,
        }
        calibration = {"temperature": temperature, "shift": shift, "fitted_on": "validation split"}
        card = _card(cfg, spec, calibration, {"val": val_metrics}, data_card, sha256_file(model_dir / WEIGHTS_FILE))
        write_card(model_dir, card)
        console.print(json.dumps(val_metrics, indent=2))
        console.print(f"model written to {model_dir}")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return model_dir
