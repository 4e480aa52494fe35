"""The desktop app: the pywebview window (the system's WebKitGTK, or Qt WebEngine: ``webview_backend``),
drag-and-drop, and the tray process."""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

from sentry_image_desktop.api import DesktopApi
from sentry_image_desktop.gtk_drop import DroppedFiles
from sentry_image_desktop.webview_backend import WebViewMissingError, choose_gui, use_system_libraries_in_helpers

UI = Path(__file__).resolve().parent / "ui" / "index.html"


def _on_drop(api: DesktopApi, window, gtk_drops: DroppedFiles | None) -> callable:  # noqa: ANN001
    """The page's drop handler: the files' paths from pywebview (Qt), or from the drag data (GTK)."""

    def handler(event: dict) -> None:
        files = event.get("dataTransfer", {}).get("files", [])
        paths = [f.get("pywebviewFullPath") for f in files if f.get("pywebviewFullPath")]
        if not paths and gtk_drops is not None:
            paths = gtk_drops.take()
        if paths:
            started = api.check_paths(paths)
            window.evaluate_js(f"window.sentryShowJob({json.dumps(started)})")

    return handler


def _check_when_ready(window, paths: list[str]) -> None:  # noqa: ANN001
    """Check files given on the command line ("Open with Sentry-Image") once the page is ready."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if window.evaluate_js("document.body.dataset.ready === '1'"):
            window.evaluate_js(f"window.sentryCheckPaths({json.dumps(paths)})")
            return
        time.sleep(0.25)


def _clipboard_image_path() -> str | None:
    from PIL import ImageGrab

    try:
        img = ImageGrab.grabclipboard()
    except Exception:  # noqa: BLE001 - no clipboard tool on this system
        return None
    if img is None or isinstance(img, list):
        return img[0] if isinstance(img, list) and img else None
    path = Path(tempfile.mkdtemp(prefix="sentry-clip-")) / "clipboard.png"
    img.save(path)
    return str(path)


def _serve_tray(api: DesktopApi, window, commands, status, stop: threading.Event) -> None:  # noqa: ANN001
    last = None
    while not stop.is_set():
        try:
            cmd = commands.get(timeout=1.0)
        except queue.Empty:
            cmd = None
        if cmd == "open":
            window.show()
        elif cmd == "check_clipboard":
            path = _clipboard_image_path()
            window.show()
            if path:
                window.evaluate_js(f"window.sentryCheckPaths({json.dumps([path])})")
            else:
                window.evaluate_js("window.sentryToast('No image on the clipboard')")
        elif cmd == "toggle_pause":
            api.set_badges_paused(not api.status()["badges_paused"])
        elif cmd == "toggle_service":
            status.put({"service": "busy"})
            api.stop_service() if api.status()["running"] else api.start_service()
        elif cmd == "quit":
            window.destroy()
            return
        s = api.status()
        now = {"service": "running" if s["running"] else "stopped", "paused": s["badges_paused"]}
        if now != last:
            status.put(now)
            last = now


def main(argv: list[str] | None = None) -> int:
    """Open the window (and the tray icon unless ``--no-tray``); returns when the window closes."""
    import webview

    parser = argparse.ArgumentParser(prog="sentry-image desktop")
    parser.add_argument("--port", type=int, default=8765, help="port of the local service (default 8765)")
    parser.add_argument("--no-tray", action="store_true", help="no tray icon")
    parser.add_argument("paths", nargs="*", help="image files or folders to check right away")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    paths = [str(Path(p).resolve()) for p in args.paths]
    try:
        gui = choose_gui()
    except WebViewMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    logging.getLogger(__name__).info("window on the %s web view", "WebKitGTK" if gui == "gtk" else "Qt WebEngine")
    if gui == "gtk":
        use_system_libraries_in_helpers()
    else:
        os.environ.setdefault(
            "QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu" + (" --no-sandbox" if os.geteuid() == 0 else "")
        )
    api = DesktopApi(port=args.port)
    window = webview.create_window("Sentry-Image", UI.as_uri(), js_api=api, width=1180, height=780, min_size=(900, 600))
    api.window = window
    stop = threading.Event()
    tray = None
    gtk_drops = DroppedFiles() if gui == "gtk" else None
    if gtk_drops is not None:
        window.events.shown += lambda: gtk_drops.attach(window.native)

    def on_loaded() -> None:
        from webview.dom import DOMEventHandler

        window.dom.document.events.drop += DOMEventHandler(_on_drop(api, window, gtk_drops), prevent_default=True)
        window.dom.document.events.dragover += DOMEventHandler(lambda e: None, prevent_default=True)
        if paths:
            threading.Thread(target=_check_when_ready, args=(window, paths), daemon=True).start()
        logging.getLogger(__name__).info("window loaded: files dropped on it are checked")

    window.events.loaded += on_loaded
    if not args.no_tray:
        from sentry_image_desktop.tray import start_tray_process

        tray, commands, status = start_tray_process()
        threading.Thread(target=_serve_tray, args=(api, window, commands, status, stop), daemon=True).start()
    try:
        webview.start(gui=gui)
    finally:
        stop.set()
        if tray is not None:
            status.put({"quit": True})
            tray.join(timeout=5)
            if tray.is_alive():
                tray.terminate()
        api.stop_service()
        time.sleep(0.1)
    return 0
