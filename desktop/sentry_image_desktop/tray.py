"""The tray icon, in its own process (pystray wants the main thread of its process, and so does the
window's GUI loop). It sends menu commands to the app and receives status colours from it."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import threading

from PIL import Image, ImageDraw

COLOURS = {"running": (19, 115, 51), "stopped": (128, 134, 139), "busy": (249, 171, 0)}


def icon_image(state: str) -> Image.Image:
    """A round status icon: green running, grey stopped, amber busy."""
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((4, 4, 60, 60), fill=COLOURS.get(state, COLOURS["stopped"]) + (255,))
    d.ellipse((20, 24, 44, 40), fill=(255, 255, 255, 255))
    d.ellipse((28, 28, 36, 36), fill=(32, 33, 36, 255))
    return img


def run_tray(commands: mp.Queue, status: mp.Queue) -> None:
    """Process entry point: show the icon until the app says ``quit`` or the user picks Quit."""
    import pystray

    state = {"service": "stopped", "paused": False}

    def send(cmd: str):  # noqa: ANN202
        return lambda icon, item: commands.put(cmd)

    def quit_(icon, item) -> None:  # noqa: ANN001
        commands.put("quit")
        icon.stop()

    menu = pystray.Menu(
        pystray.MenuItem("Open window", send("open"), default=True),
        pystray.MenuItem("Check clipboard image", send("check_clipboard")),
        pystray.MenuItem("Pause extension badges", send("toggle_pause"), checked=lambda item: state["paused"]),
        pystray.MenuItem(
            lambda item: "Stop service" if state["service"] == "running" else "Start service", send("toggle_service")
        ),
        pystray.MenuItem("Quit", quit_),
    )
    icon = pystray.Icon("sentry-image", icon_image("stopped"), "Sentry-Image", menu)

    def follow_status() -> None:
        while True:
            try:
                msg = status.get(timeout=0.5)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                msg = {"quit": True}
            if msg.get("quit"):
                with contextlib.suppress(Exception):  # GDBus notification errors on stop are harmless
                    icon.stop()
                return
            state.update(msg)
            with contextlib.suppress(Exception):  # a backend refusing an update must not end the loop
                icon.icon = icon_image(state["service"])
                icon.title = f"Sentry-Image: service {state['service']}"  # latin-1 only (X11 WM_NAME)
                icon.update_menu()

    threading.Thread(target=follow_status, daemon=True).start()
    icon.run()


def start_tray_process() -> tuple[mp.Process, mp.Queue, mp.Queue]:
    """Spawn the tray process; returns it with its (commands, status) queues."""
    ctx = mp.get_context("spawn")
    commands, status = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=run_tray, args=(commands, status), name="sentry-image-tray", daemon=True)
    proc.start()
    return proc, commands, status
