"""Which web view the desktop window runs on.

Like Tauri apps, the bundled app uses the web view the operating system provides: on Linux WebKitGTK,
through pywebview's GTK backend and PyGObject. The bundle carries PyGObject but not GTK or WebKitGTK
themselves; those come from the system (``SYSTEM_PACKAGES``), and when they are missing the app says in
one line what to install. An install from source (``./run.sh``, no root needed) has Qt WebEngine from
pip and uses it unless GTK and WebKitGTK are present, as pywebview itself prefers.
"""

from __future__ import annotations

import os
import sys

# Debian / Ubuntu packages the bundled window needs. gir1.2-webkit2-4.1 brings WebKitGTK 4.1, GTK 3 and
# the GObject introspection library with it.
SYSTEM_PACKAGES = ("gir1.2-webkit2-4.1",)
GTK_VERSION, WEBKIT_VERSIONS = "3.0", ("4.1", "4.0")  # the versions pywebview's GTK backend takes


class WebViewMissingError(RuntimeError):
    """No web view this app can open its window with; the message says what to install, in one line."""


def frozen() -> bool:
    """Whether this is the PyInstaller bundle (which carries no Qt)."""
    return bool(getattr(sys, "frozen", False))


def gtk_missing() -> str | None:
    """Why the GTK backend cannot run here (PyGObject, GTK 3 or WebKitGTK missing), or None if it can.
    Asks GObject introspection for the libraries' type data only: nothing is loaded or shown."""
    try:
        import gi
    except ImportError as exc:
        return f"PyGObject is missing ({exc})"
    try:
        gi.require_version("Gtk", GTK_VERSION)
    except ValueError:
        return f"GTK {GTK_VERSION} is missing"
    for version in WEBKIT_VERSIONS:
        try:
            gi.require_version("WebKit2", version)
            return None
        except ValueError:
            continue
    return "WebKitGTK (WebKit2 4.1) is missing"


def qt_missing() -> str | None:
    """Why the Qt WebEngine backend cannot run here, or None if it can."""
    try:
        import PyQt6.QtWebEngineWidgets  # noqa: F401
    except ImportError as exc:
        return f"Qt WebEngine is missing ({exc})"
    return None


def install_hint(reason: str, bundled: bool) -> str:
    """The one line that says what is missing and what to install."""
    packages = " ".join(SYSTEM_PACKAGES)
    if bundled:
        return f"the window needs the system web view, WebKitGTK: {reason}. Install it: sudo apt-get install {packages}"
    return (
        f"the window needs a web view: {reason}. Install Qt WebEngine (.venv/bin/pip install -r requirements.txt) "
        f"or the system's WebKitGTK (sudo apt-get install {packages}, and PyGObject in the venv)"
    )


def choose_gui(bundled: bool | None = None) -> str:
    """``"gtk"`` where GTK and WebKitGTK are present, else ``"qt"`` (not in the bundle); otherwise
    ``WebViewMissingError`` with the one-line hint. ``bundled`` defaults to whether this is the bundle."""
    bundled = frozen() if bundled is None else bundled
    reason = gtk_missing()
    if reason is None:
        return "gtk"
    if not bundled and qt_missing() is None:
        return "qt"
    raise WebViewMissingError(install_hint(reason, bundled))


def use_system_libraries_in_helpers() -> None:
    """In the bundle, give the processes WebKitGTK starts (its web and network processes) the system's
    library path: PyInstaller points ``LD_LIBRARY_PATH`` at the bundle's own copies (libstdc++, OpenSSL,
    SQLite, ...), which the system's WebKitGTK was not built against (measured: 70 of them mapped into its
    web process). This process keeps what it loaded at start; the bundle's own children (the service, the
    tray) get the bundle's path again from PyInstaller's start-up."""
    if not frozen():
        return
    original = os.environ.get("LD_LIBRARY_PATH_ORIG")
    if original:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)
