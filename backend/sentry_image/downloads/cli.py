"""``sentry-image data list | download NAME | verify NAME | prepare NAME``: the datasets the benchmark
names, fetched, checked and turned into a manifest that ``train`` and ``eval`` read."""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from sentry_image.atomic_files import atomic_write_text
from sentry_image.downloads.archives import EXTRACTABLE, join_parts, member_problem, safe_extract, split_groups
from sentry_image.downloads.disk import check_free_space
from sentry_image.downloads.https_source import ZENODO, list_https, list_zenodo
from sentry_image.downloads.hub import auth_headers, list_files
from sentry_image.downloads.remote import RemoteFile, file_problem
from sentry_image.downloads.resumable import DownloadError, download
from sentry_image.errors import SentryError
from sentry_image.paths import data_dir

LISTING = ".sentry-files.json"  # what was downloaded: paths, sizes, checksums (verify reads it offline)


def catalog() -> dict[str, dict[str, Any]]:
    """The dataset registry shipped with the package (``downloads/sources.json``)."""
    text = resources.files("sentry_image.downloads").joinpath("sources.json").read_text(encoding="utf-8")
    return json.loads(text)


def add_data_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``data`` and its actions."""
    p = sub.add_parser("data", help="list, download, verify and prepare the benchmark's datasets")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the datasets known here, with size, license and citation")
    for name, help_text in (
        ("download", "download (resumable), join split archives and extract them safely"),
        ("verify", "check downloaded files against their sizes and checksums; list what is missing or corrupt"),
        ("prepare", "write the manifest.csv that train and eval read"),
    ):
        a = actions.add_parser(name, help=help_text)
        a.add_argument("name")
        a.add_argument("--to", "--from", dest="folder", help="dataset folder (default: DATA_FOLDER/datasets/NAME)")
        a.add_argument("--generators", help="comma-separated subsets to keep (e.g. SDv15R-CC1M,stylegan3-80K)")
        if name == "prepare":
            a.add_argument("--max-per-class", type=int, default=None, help="at most this many real and AI images")
            a.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_data)


def run_data(args: argparse.Namespace) -> int:
    """Carry out one ``data`` action."""
    console = Console(stderr=True)
    sources = catalog()
    if args.action == "list":
        show_catalog(sources)
        return 0
    if args.name not in sources:
        console.print(f"[red]error:[/] unknown dataset {args.name!r}; known: {', '.join(sorted(sources))}")
        return 2
    source = sources[args.name]
    folder = Path(args.folder) if args.folder else data_dir() / "datasets" / args.name
    keep = [g.strip() for g in (args.generators or "").split(",") if g.strip()]
    try:
        if args.action == "download":
            return download_source(args.name, source, folder, keep, console)
        if args.action == "verify":
            return verify_folder(folder, console)
        return prepare(folder, source, keep, args.max_per_class, args.seed, console)
    except SentryError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        return 1


def show_catalog(sources: dict[str, dict[str, Any]]) -> None:
    table = Table(title="Datasets")
    for col in ("name", "what", "size", "license", "where"):
        table.add_column(col, overflow="fold")
    for name, s in sorted(sources.items()):
        table.add_row(name, s["title"], s.get("size", "?"), s.get("license", "?"), where(s))
    Console().print(table)


def where(source: dict[str, Any]) -> str:
    """Where a source's files live, in a few words."""
    if "hub" in source:
        return f"huggingface.co/datasets/{source['hub']['repo']}"
    if "zenodo" in source:
        return f"zenodo.org/records/{source['zenodo']['record']}"
    if "https" in source:
        return source["https"]["base"]
    return "by hand (see `data download`)"


def remote_files(source: dict[str, Any], folder: Path) -> list[RemoteFile]:
    """The files a source publishes, wherever it lives; each path checked to stay inside ``folder``."""
    if "hub" in source:
        hub = source["hub"]
        if "files" in hub:  # single files at the repository's root
            at_root = list_files(hub["repo"], [""], hub.get("revision", "main"), recursive=False)
            files = [f for f in at_root if f.path in hub["files"]]
            if len(files) != len(hub["files"]):
                missing = sorted(set(hub["files"]) - {f.path for f in files})
                raise DownloadError(f"{hub['repo']} no longer holds {', '.join(missing)}")
        else:
            files = list_files(hub["repo"], hub["paths"], hub.get("revision", "main"))
    elif "zenodo" in source:
        files = list_zenodo(source["zenodo"]["record"], source["zenodo"].get("api", ZENODO))
    else:
        https = source["https"]
        files = list_https(https["base"], https["checksums"], https.get("files"))
    root = folder.resolve()
    for f in files:  # a listing names where each file goes: it must not lead out of the dataset folder
        problem = member_problem(f.path, root)
        if problem or not f.path:
            raise DownloadError(f"the source lists {f.path!r}, which {problem or 'is empty'}; nothing downloaded")
    return files


def selected(files: list[RemoteFile], keep: list[str]) -> list[RemoteFile]:
    """The files of the chosen subsets (all without a choice): a subset is a folder or file-name prefix."""
    if not keep:
        return files
    return [f for f in files if any(k in Path(f.path).parts or Path(f.path).name.startswith(k) for k in keep)]


def download_source(name: str, source: dict[str, Any], folder: Path, keep: list[str], console: Console) -> int:
    """Download, join and extract; every step can be rerun and skips what is already done."""
    if "manual" in source:
        console.print(f"{name}: {source['manual']}")
        return 1
    files = selected(remote_files(source, folder), keep)
    if not files:
        raise SentryError(f"{name}: nothing to download for --generators {','.join(keep)}")
    total = sum(f.size or 0 for f in files)
    pending = [f for f in files if not (folder / f.path).is_file()]
    # Room for what is still to come, and as much again for the extracted images.
    check_free_space(folder, 2 * sum(f.size or 0 for f in pending))
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / LISTING, json.dumps([f.__dict__ for f in files], indent=1))
    console.print(f"{name}: {len(files)} files, {total / 1e9:.2f} GB, into {folder}")
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    columns += (TimeRemainingColumn(),)
    headers = auth_headers()
    with Progress(*columns, console=console) as progress:
        overall = progress.add_task("all files", total=total)
        done_before = total - sum(f.size or 0 for f in pending)
        progress.update(overall, completed=done_before)
        for f in pending:
            task = progress.add_task(Path(f.path).name, total=f.size)

            def advance(done: int, size: int | None, task: int = task) -> None:
                progress.update(task, completed=done, total=size)

            download(f.url, folder / f.path, size=f.size, digest=f.digest, headers=headers, progress=advance)
            progress.update(overall, advance=f.size or 0)
            progress.remove_task(task)
    extract_all(folder, [f.path for f in files], console)
    console.print(f"done; next: sentry-image data prepare {name} --to {folder}")
    return 0


def extract_all(folder: Path, paths: list[str], console: Console) -> None:
    """Join split archives and extract every tar and zip next to itself (once: a stamp file remembers).
    7-Zip archives are joined and left for 7-Zip, with the command to run."""
    by_dir: dict[Path, list[str]] = {}
    for p in paths:
        by_dir.setdefault((folder / p).parent, []).append(Path(p).name)
    for directory, names in sorted(by_dir.items()):
        archives = [directory / n for n in names if n.lower().endswith((*EXTRACTABLE, ".7z"))]
        for joined, pieces in split_groups(names).items():
            if joined.lower().endswith((*EXTRACTABLE, ".7z")):
                target = directory / joined
                if not target.is_file():
                    join_parts([directory / p for p in pieces], target)
                archives.append(target)
        for archive in archives:
            stamp = directory / f".extracted-{archive.name}"
            if stamp.is_file():
                continue
            if archive.name.lower().endswith(".7z"):
                console.print(
                    f"[yellow]not extracted:[/] {archive.relative_to(folder)} is a 7-Zip archive; "
                    f"extract it with 7-Zip (`7z x {archive} -o{directory}`), then run `data prepare`"
                )
                continue
            console.print(f"extracting {archive.relative_to(folder)}")
            safe_extract(archive, directory)
            atomic_write_text(stamp, "")


def verify_folder(folder: Path, console: Console) -> int:
    """Compare the downloaded files with the listing saved at download time."""
    listing = folder / LISTING
    if not listing.is_file():
        raise SentryError(f"{folder}: nothing downloaded here (no {LISTING}); run `data download` first")
    missing, corrupt, ok = [], [], 0
    for entry in json.loads(listing.read_text(encoding="utf-8")):
        problem = file_problem(folder / entry["path"], entry["size"], entry["digest"])
        if problem == "missing":
            missing.append(entry["path"])
        elif problem == "corrupt":
            corrupt.append(entry["path"])
        else:
            ok += 1
    for label, items in (("missing", missing), ("corrupt", corrupt)):
        for item in items:
            console.print(f"[red]{label}:[/] {item}")
    console.print(f"{ok} files intact, {len(missing)} missing, {len(corrupt)} corrupt")
    return 0 if not missing and not corrupt else 1


def prepare(
    folder: Path, source: dict[str, Any], keep: list[str], max_per_class: int | None, seed: int, console: Console
) -> int:
    """Write ``folder/manifest.csv`` (optionally a subset) for ``train`` and ``eval``."""
    from sentry_image.training.datasets import open_dataset
    from sentry_image.training.datasets.folders import read_one_label
    from sentry_image.training.datasets.sample import label_from_value

    manifest = folder / "manifest.csv"
    if manifest.is_file():
        manifest.unlink()  # rebuilt from the images themselves
    try:
        if "label" in source:  # a set of one class only (Synthbuster: AI images, one folder per generator)
            samples = list(read_one_label(folder, label_from_value(source["label"])))
        else:
            samples = open_dataset(folder, source.get("split", ""))
    except (ValueError, FileNotFoundError) as exc:
        raise SentryError(f"{folder}: {exc}") from exc
    if keep:
        samples = [s for s in samples if any(k in Path(s.key).parts for k in keep)]
    if max_per_class is not None:
        rng = random.Random(seed)
        by_label: dict[int, list] = {}
        for s in samples:
            by_label.setdefault(s.label, []).append(s)
        samples = [s for group in by_label.values() for s in rng.sample(group, min(max_per_class, len(group)))]
    if not samples:
        raise SentryError(f"{folder}: no images found to list")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["file", "label", "generator", "family", "category", "source", "split"])
    for s in sorted(samples, key=lambda s: s.key):
        rel = Path(s.key).resolve().relative_to(folder.resolve()).as_posix()
        writer.writerow([rel, "ai" if s.label else "real", s.generator, s.family, s.category, s.source, s.split])
    atomic_write_text(manifest, buf.getvalue())
    n_ai = sum(1 for s in samples if s.label)
    console.print(f"wrote {manifest}: {len(samples)} images ({n_ai} AI, {len(samples) - n_ai} real)")
    return 0
