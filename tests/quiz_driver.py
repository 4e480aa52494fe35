"""Drive the desktop app's "Can you tell?" tab in the real window (run under Xvfb by tests/test_desktop.py):

    python tests/quiz_driver.py DATASET SCREENSHOT_PREFIX

Starts a 4-image round on DATASET through the same JS entry point as the Start button, answers with the
keyboard (R, A, R, A; Enter for next), takes a screenshot of the first reveal and of the results, and
prints what the window showed as JSON on the last line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import webview
from desktop_driver import wait_js as wait_up_to

from sentry_image_desktop.api import DesktopApi
from sentry_image_desktop.app import UI


def wait_js(window, expr: str):  # noqa: ANN001, ANN201
    return wait_up_to(window, expr, timeout=120.0)


def key(window, name: str) -> None:  # noqa: ANN001
    window.evaluate_js(f"document.dispatchEvent(new KeyboardEvent('keydown', {{key: {json.dumps(name)}}}))")


def main() -> None:
    dataset, shots = sys.argv[1], sys.argv[2]
    api = DesktopApi(port=1)  # the quiz needs no service
    window = webview.create_window("Sentry-Image", UI.as_uri(), js_api=api, width=1180, height=780)
    api.window = window
    out: dict = {"reveals": []}

    def drive(w) -> None:  # noqa: ANN001
        try:
            wait_js(w, "document.body.dataset.ready === '1'")
            w.evaluate_js(
                "document.querySelector('[data-tab=quiz]').click(); document.getElementById('quiz-count').value = 4"
            )
            w.evaluate_js(f"window.sentryQuizStart({json.dumps(dataset)})")
            for i, answer in enumerate("rara"):
                wait_js(w, "document.body.dataset.quizState === 'asking'")
                out.setdefault("image_loaded", w.evaluate_js("document.getElementById('quiz-img').naturalWidth > 0"))
                key(w, answer)
                wait_js(w, "document.body.dataset.quizState === 'revealed'")
                out["reveals"].append(w.evaluate_js("document.getElementById('quiz-reveal').textContent"))
                if i == 0:
                    time.sleep(0.3)
                    subprocess.run(["import", "-window", "root", f"{shots}-reveal.png"], check=False)
                key(w, "Enter")
            wait_js(w, "document.body.dataset.quizState === 'done'")
            out["you"] = float(w.evaluate_js("document.body.dataset.quizYou"))
            out["results"] = w.evaluate_js("document.getElementById('quiz-results').textContent")
            time.sleep(0.3)
            subprocess.run(["import", "-window", "root", f"{shots}-results.png"], check=False)
        except Exception as exc:  # noqa: BLE001
            out["error"] = repr(exc)
        finally:
            w.destroy()

    webview.start(drive, window, gui="qt")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
