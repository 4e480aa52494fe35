"""The extension's store packages: one per browser, each with the manifest that browser wants."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_builder():
    spec = importlib.util.spec_from_file_location("build_extension", ROOT / "build_scripts" / "build_extension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builds_chrome_and_firefox_zips(tmp_path: Path) -> None:
    builder = load_builder()
    chrome, firefox = builder.build("chrome", tmp_path), builder.build("firefox", tmp_path)
    with zipfile.ZipFile(chrome) as z:
        m = json.loads(z.read("manifest.json"))
        names = set(z.namelist())
    assert m["manifest_version"] == 3 and m["background"] == {"service_worker": "background.js"}
    assert "browser_specific_settings" not in m
    assert {"background.js", "content.js", "lib/queue.js", "icons/icon128.png", "popup.html", "options.html"} <= names
    with zipfile.ZipFile(firefox) as z:
        m = json.loads(z.read("manifest.json"))
    assert "service_worker" not in m["background"] and m["background"]["scripts"][-1] == "background.js"
    assert m["browser_specific_settings"]["gecko"]["id"]


def test_every_file_the_manifest_names_exists() -> None:
    src = ROOT / "extension" / "src"
    m = json.loads((src / "manifest.json").read_text())
    named = [
        m["background"]["service_worker"],
        *m["background"]["scripts"],
        m["action"]["default_popup"],
        m["options_ui"]["page"],
        *m["icons"].values(),
    ]
    for cs in m["content_scripts"]:
        named += cs["js"] + cs["css"]
    missing = [n for n in named if not (src / n).is_file()]
    assert not missing
