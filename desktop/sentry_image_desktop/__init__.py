"""Sentry-Image desktop app: a pywebview window (HTML UI + Python bridge) and a tray icon."""
