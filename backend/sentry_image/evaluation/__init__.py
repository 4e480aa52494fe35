"""Evaluation: metrics, per-generator reports, robustness sweeps, plots and the leaderboard."""
