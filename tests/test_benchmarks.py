"""The benchmark suite runs end to end (``--quick``) and reports what issue 24 asks of it: the service's
round trip over the in-process pipeline on the same images, and provenance's own time. Only that the
figures are there and sane is checked; what they are is measured in reports/benchmarks/, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_suite_writes_service_over_pipeline_and_provenance(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "suite.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "SENTRY_IMAGE_HOME": str(tmp_path / "home")},
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    result = json.loads((out / "benchmarks.json").read_text())
    over = result["service"]["over_pipeline"]
    assert result["service_over_pipeline"] == over["service_over_pipeline"]
    ratio = over["round_trip_ms_p50"] / over["pipeline_ms_p50"]  # from the rounded medians
    assert abs(over["service_over_pipeline"] - ratio) < 0.01
    assert 0.5 < result["service_over_pipeline"] < 20
    assert 0 < result["provenance_ms_1024_jpeg"] < over["pipeline_ms_p50"]
    assert "service ≤ 1.10× the in-process pipeline (1024² JPEG)" in result["targets"]
    assert "service_over_pipeline" in (out / "benchmarks.md").read_text()
