"""Sentry-Image: local-first detection of AI-generated images."""

__version__ = "0.1.0"
