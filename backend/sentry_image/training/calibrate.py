"""Calibration: fit ``P(AI) = sigmoid((logit - shift) / temperature)`` by minimising the negative
log-likelihood on held-out logits (Platt scaling written as a temperature and a shift)."""

from __future__ import annotations

import torch


def fit_calibration(logits: list[float], labels: list[int], steps: int = 500) -> tuple[float, float]:
    """Return ``(temperature, shift)`` fitted on validation logits and labels (1 = AI).

    The classes are weighted equally, so the 0.5 point sits where real and AI images are balanced
    even when the validation set is not.
    """
    x = torch.tensor(logits, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.float64)
    n_pos, n_neg = float(y.sum()), float(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("calibration needs both real and AI examples")
    weight = torch.where(y == 1, 0.5 / n_pos, 0.5 / n_neg)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    shift = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t, shift], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = (x - shift) / log_t.exp()
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none") * weight).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.exp().item()), float(shift.item())
