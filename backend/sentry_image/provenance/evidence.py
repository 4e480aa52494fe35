"""The evidence record every analyzer returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sentry_image.errors import plain_message

# Direction of a piece of evidence.
AI, REAL, NEUTRAL = "ai", "real", "neutral"
# Strengths, strongest first: conclusive (cryptographically valid claims only), strong, moderate, weak, none.


@dataclass(frozen=True)
class Evidence:
    """One finding: which analyzer (``source``), what it found (``signal``), how much it weighs
    (``strength``), which way it points (``direction``) and a human-readable ``detail``."""

    source: str
    signal: str
    strength: str
    direction: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return asdict(self)


def analyzer_error(source: str, exc: Exception) -> Evidence:
    """Evidence that an analyzer could not read its part of the file (never a crash, never a claim)."""
    return Evidence(
        source, "analyzer_error", "none", NEUTRAL, f"could not read {source} metadata: {plain_message(exc)}"
    )
