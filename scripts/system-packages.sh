#!/usr/bin/env bash
# Debian packages the tests use: browsers for the extension, Xvfb and Qt's X11 libraries for the
# desktop window, WebKitGTK (the bundled window's system web view) and the headers PyGObject builds
# against, trayer for the tray icon, xdotool for drags, ImageMagick for screenshots. Installed when
# missing and running as root with apt-get; otherwise the tests that need them skip with a reason.
# test.sh runs this before it installs the Python packages (PyGObject needs the headers).
PKGS="chromium firefox-esr xvfb xauth xdotool imagemagick dbus-x11 trayer libgl1 libnss3 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-xkb1 libxcb-shape0
  libxcb-xinerama0 gir1.2-webkit2-4.1 libgirepository1.0-dev libcairo2-dev pkg-config"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages for the tests:$missing" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "warning: missing Debian packages ($missing); the tests that need them will skip" >&2
  fi
fi
