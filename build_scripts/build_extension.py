"""Build the store packages of the browser extension from extension/src:

    python build_scripts/build_extension.py [--out dist]

dist/sentry-image-chrome-VERSION.zip  — background.service_worker only, no gecko settings
dist/sentry-image-firefox-VERSION.zip — background.scripts only (event page), with the gecko id
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "extension" / "src"


def manifest_for(browser: str) -> dict:
    """The manifest as that browser's store wants it."""
    manifest = json.loads((SRC / "manifest.json").read_text(encoding="utf-8"))
    background = manifest["background"]
    if browser == "chrome":
        manifest["background"] = {"service_worker": background["service_worker"]}
        manifest.pop("browser_specific_settings", None)
    else:
        manifest["background"] = {"scripts": background["scripts"]}
    return manifest


def build(browser: str, out: Path) -> Path:
    """Write one zip and return its path."""
    manifest = manifest_for(browser)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"sentry-image-{browser}-{manifest['version']}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
        for path in sorted(SRC.rglob("*")):
            if path.is_file() and path.name != "manifest.json":
                zf.write(path, path.relative_to(SRC).as_posix())
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("dist"))
    args = parser.parse_args()
    for browser in ("chrome", "firefox"):
        print(build(browser, args.out))
