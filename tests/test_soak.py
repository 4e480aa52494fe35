"""The 60-second soak (benchmarks/soak.py) through real waitress with the built-in model: every request
answered as its kind expects, /health p99 < 200 ms, memory growth <= 10% after warm-up. The full
10-minute soak is the same script with ``--seconds 600``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


@pytest.mark.slow
def test_soak_for_a_minute(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "60", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=400,
    )
    result = json.loads((tmp_path / "soak.json").read_text())
    assert result["requests"] > 100 and result["answers_by_kind"]["valid"].get("200", 0) > 20, result
    assert set(result["answers_by_kind"]) >= {"short_jpeg", "too_many_bytes", "no_token", "private_url"}
    assert r.returncode == 0 and result["passed"], r.stdout + r.stderr
