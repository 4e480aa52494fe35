"""Map raw detector logits to calibrated probabilities and verdict bands."""

from __future__ import annotations

import math

VERDICTS = ("likely_ai", "uncertain", "likely_real")


def calibrated_probability(logit: float, temperature: float, shift: float) -> float:
    """``sigmoid((logit - shift) / temperature)``: the calibrated P(AI)."""
    z = (logit - shift) / temperature
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def verdict_for(score: float, likely_ai: float, likely_real: float) -> str:
    """The verdict band of a calibrated score."""
    if score >= likely_ai:
        return "likely_ai"
    if score <= likely_real:
        return "likely_real"
    return "uncertain"
