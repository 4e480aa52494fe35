"""The tray icon, in its own process (pystray wants the main thread of its process, and so does the
window's GUI loop). It sends menu commands to the app and receives status colours from it."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import threading

from PIL import Image, ImageDraw

COLOURS = {"running": (19, 115, 51), "stopped": (128, 134, 139), "busy": (249, 171, 0)}
QUIT_GRACE_S = 1.0  # how long the icon's own loop gets to end after a quit before the process ends itself


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
        stop(icon)

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
                stop(icon)
                return
            state.update(msg)
            with contextlib.suppress(Exception):  # a backend refusing an update must not end the loop
                icon.icon = icon_image(state["service"])
                icon.title = f"Sentry-Image: service {state['service']}"  # latin-1 only (X11 WM_NAME)
                icon.update_menu()

    def stop(icon) -> None:  # noqa: ANN001
        """Ask the icon's loop to end, and end the process after ``QUIT_GRACE_S`` if it has not. pystray's
        stop can be lost: a quit that comes before ``icon.run`` has set up its loop (a slow start on a busy
        machine), or a tray host that drops the connection (trayer's "Fatal IO error 11"), left the loop
        running and the process alive after Quit. The process holds no state of its own; the commands
        already sent are flushed to the app first."""
        with contextlib.suppress(Exception):  # GDBus notification errors on stop are harmless
            icon.stop()

        def force() -> None:
            commands.close()
            commands.join_thread()  # "quit" reaches the app before the process goes
            os._exit(0)

        timer = threading.Timer(QUIT_GRACE_S, force)
        timer.daemon = True  # a loop that did end lets the process exit at once
        timer.start()

    threading.Thread(target=follow_status, daemon=True).start()
    icon.run()


def start_tray_process() -> tuple[mp.Process, mp.Queue, mp.Queue]:
    """Spawn the tray process; returns it with its (commands, status) queues."""
    ctx = mp.get_context("spawn")
    commands, status = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=run_tray, args=(commands, status), name="sentry-image-tray", daemon=True)
    proc.start()
    return proc, commands, status
