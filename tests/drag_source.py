"""A small GTK window that offers files to drag (the test's stand-in for a file manager), under Xvfb:

    python tests/drag_source.py X Y FILE...

Shows a 160x90 window at (X, Y) whose button is an X drag source for the files (``text/uri-list``, as
file managers offer them); the test presses, moves and releases the pointer with xdotool. Prints
``ready`` once shown, and ``sent N`` when a drop target took the data; closes after 60 s."""

from __future__ import annotations

import sys
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402


def main() -> None:
    x, y, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    uris = [Path(f).resolve().as_uri() for f in files]
    window = Gtk.Window(title="drag source")
    window.set_default_size(160, 90)
    window.move(x, y)
    button = Gtk.Button(label=f"{len(files)} file(s)")
    button.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
    button.drag_source_add_uri_targets()

    def on_get(_widget, _context, data, _info, _time) -> None:  # noqa: ANN001
        data.set_uris(uris)
        print(f"sent {len(uris)}", flush=True)

    button.connect("drag-data-get", on_get)
    window.add(button)
    window.connect("destroy", Gtk.main_quit)
    window.show_all()
    GLib.timeout_add(300, lambda: print("ready", flush=True) and False)
    GLib.timeout_add_seconds(60, Gtk.main_quit)
    Gtk.main()


if __name__ == "__main__":
    main()
