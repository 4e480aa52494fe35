"""Paths of files dropped on the window when it runs on WebKitGTK.

pywebview 6.2 reads a GTK drop's paths with ``get_text()``, which is empty for the ``text/uri-list``
data WebKitGTK asks a file manager for, and WebKitGTK gives the page no ``File`` objects for them: a
drop on the GTK backend arrives with no paths at all (found with a real X drag in the bundle's window
test). ``DroppedFiles`` takes the paths from the drag data itself; the page's drop event, which fires
only when the user lets go over the window, then takes them.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class DroppedFiles:
    """The local paths of the last drag over the web view, taken once by the page's drop event."""

    def __init__(self) -> None:
        self._paths: list[str] = []
        self._lock = threading.Lock()

    def attach(self, gtk_window) -> None:  # noqa: ANN001 - a Gtk.Window (pywebview's ``window.native``)
        """Listen for drag data on the web view inside ``gtk_window`` (from the GTK main loop)."""
        from gi.repository import GLib

        GLib.idle_add(self._connect, gtk_window)

    def _connect(self, gtk_window) -> bool:  # noqa: ANN001
        from gi.repository import WebKit2

        stack = [gtk_window]
        while stack:
            widget = stack.pop()
            if isinstance(widget, WebKit2.WebView):
                widget.connect("drag-data-received", self._received)
                return False
            if hasattr(widget, "get_children"):
                stack.extend(widget.get_children())
        log.warning("no web view found in the window: dropped files will not be checked")
        return False

    def _received(self, _widget, _context, _x, _y, data, _info, _time) -> bool:  # noqa: ANN001
        from gi.repository import Gio

        paths = [Gio.File.new_for_uri(uri).get_path() for uri in data.get_uris() or []]
        with self._lock:
            self._paths = [p for p in paths if p]
        return False  # WebKitGTK goes on to deliver the drop to the page

    def take(self) -> list[str]:
        """The paths of the drag just dropped (each drop takes them once)."""
        with self._lock:
            paths, self._paths = self._paths, []
        return paths
