"""Run the bundled desktop app in a real window (under Xvfb, from tests/test_bundle.py):

    python tests/bundle_window.py BUNDLE_EXE PORT SCREENSHOT IMAGE...

Starts ``BUNDLE_EXE desktop --port PORT`` (window + tray), waits until its page is loaded, then drags the
images onto it from a GTK drag source (``drag_source.py``, a file manager's stand-in) with the X pointer:
a real X drag and drop. The app starts its own service from the bundle and checks what was dropped; this
waits for the check to finish, takes a screenshot, closes the window the way a window manager does
(WM_DELETE_WINDOW) and prints what it saw as JSON on the last line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from Xlib import X, display
from Xlib.protocol import event


def children(pid: int) -> dict[int, str]:
    """Command lines of the direct children of ``pid``, by pid."""
    out = {}
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            if proc.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, ValueError, IndexError):
            continue
    return out


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def find_window(d: display.Display, name: str):  # noqa: ANN201
    """The first window whose WM_NAME is ``name``, or None."""
    stack = [d.screen().root]
    while stack:
        w = stack.pop()
        try:
            if w.get_wm_name() == name:
                return w
            stack.extend(w.query_tree().children)
        except Exception:  # noqa: BLE001 - windows come and go
            continue
    return None


def close_window(d: display.Display, window) -> None:  # noqa: ANN001
    """Ask the window to close, as the window manager's close button does."""
    protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
    msg = event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
    window.send_event(msg, event_mask=X.NoEventMask)
    d.flush()


def drag_and_drop(files: list[str]) -> bool:
    """Drag ``files`` from a GTK drag source at the top left onto the middle of the screen (the app's
    window) with the X pointer; True once the drop target took the data."""
    source = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("drag_source.py")), "5", "5", *files],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if source.stdout.readline().strip() != "ready":
            return False
        time.sleep(0.5)
        subprocess.run(["xdotool", "mousemove", "80", "50", "mousedown", "1"], check=True)
        for step in range(1, 13):  # past GTK's drag threshold, then over the window in small moves
            subprocess.run(["xdotool", "mousemove", str(80 + step * 45), str(50 + step * 28)], check=True)
            time.sleep(0.1)
        time.sleep(0.5)
        subprocess.run(["xdotool", "mouseup", "1"], check=True)
        sent = threading.Event()
        threading.Thread(target=lambda: source.stdout.readline().startswith("sent") and sent.set(), daemon=True).start()
        return sent.wait(20)
    finally:
        time.sleep(0.5)
        source.kill()


def main() -> None:
    exe, port, shot, images = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    out: dict = {"log": []}
    app = subprocess.Popen(
        [exe, "desktop", "--port", str(port)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    loaded, finished = threading.Event(), threading.Event()

    def read_log() -> None:
        for line in app.stderr:
            out["log"].append(line.rstrip())
            if "window on the" in line:
                out["web_view"] = line.split("window on the ", 1)[1].split(" web view")[0]
            if "window loaded" in line:
                loaded.set()
            if re.search(rf"check-\d+ finished: {len(images)} of {len(images)} done", line):
                finished.set()

    threading.Thread(target=read_log, daemon=True).start()
    try:
        if not loaded.wait(120):
            raise TimeoutError("the window's page did not load within 120 s")
        out["dropped"] = drag_and_drop(images)
        out["check_finished"] = finished.wait(240)
        health = requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json()
        out["health"] = {k: health.get(k) for k in ("device", "backend", "ready")}
        kids = children(app.pid)
        out["children"] = sorted(kids.values())
        time.sleep(2)  # let the results render
        subprocess.run(["import", "-window", "root", shot], check=False)
        d = display.Display()
        window = find_window(d, "Sentry-Image")
        out["window"] = window is not None
        if window is not None:
            close_window(d, window)
        out["exit_code"] = app.wait(timeout=60)
        time.sleep(1)
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
            out["service_after_close"] = "running"
        except requests.ConnectionError:
            out["service_after_close"] = "stopped"
        out["children_alive_after_close"] = [cmd for pid, cmd in kids.items() if alive(pid)]
    except Exception as exc:  # noqa: BLE001 - reported to the test with the app's log
        out["error"] = repr(exc)
    finally:
        if app.poll() is None:
            app.kill()

    out["log"] = out["log"][-30:]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
