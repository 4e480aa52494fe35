"""Drive the real desktop window (run under Xvfb by tests/test_desktop.py):

    python tests/desktop_driver.py PORT SCREENSHOT IMAGE...

Opens the app's window with its real bridge, checks the images through the same JS entry point that a
drop uses, waits for the rendered results, takes a screenshot of the screen, prints the rendered cards
as JSON on the last line and closes the window."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import webview

from sentry_image_desktop.api import DesktopApi
from sentry_image_desktop.app import UI


def wait_js(window, expr: str, timeout: float = 240.0):  # noqa: ANN001, ANN201
    end = time.time() + timeout
    while time.time() < end:
        value = window.evaluate_js(expr)
        if value:
            return value
        time.sleep(0.25)
    raise TimeoutError(expr)


def main() -> None:
    port, shot, images = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    api = DesktopApi(port=port)
    window = webview.create_window("Sentry-Image", UI.as_uri(), js_api=api, width=1180, height=780)
    api.window = window
    out: dict = {}

    def drive(w) -> None:  # noqa: ANN001
        try:
            wait_js(w, "document.body.dataset.ready === '1'")
            w.evaluate_js(f"window.sentryCheckPaths({json.dumps(images)})")
            wait_js(w, "document.body.dataset.jobDone ? true : false")
            time.sleep(0.5)
            out["cards"] = w.evaluate_js(
                "Array.from(document.querySelectorAll('.result')).map(e => ({verdict: e.dataset.verdict,"
                " name: e.querySelector('.name').textContent, text: e.textContent,"
                " thumb: Boolean(e.querySelector('img'))}))"
            )
            out["pill"] = w.evaluate_js("document.getElementById('service-pill').textContent")
            subprocess.run(["import", "-window", "root", shot], check=False)
        except Exception as exc:  # noqa: BLE001
            out["error"] = repr(exc)
        finally:
            api.stop_service()
            w.destroy()

    webview.start(drive, window, gui="qt")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
