"""Entry point of the bundled app: with no arguments it opens the desktop app; with arguments it is the
``sentry-image`` command line (``serve``, ``check``, ...), which the desktop app also uses to start the
service."""

import multiprocessing
import sys

from sentry_image.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the tray runs in a spawned process
    sys.exit(main(sys.argv[1:] or ["desktop"]))
