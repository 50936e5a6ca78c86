"""``make bench`` keeps working: a tiny run on the test services fills every figure."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_small_benchmark_run_reports_every_figure(stack, tmp_path):
    out = tmp_path / "bench.md"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.kafka, "DATABASE_URL": stack.database}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--events", "3000", "--customers", "300", "--api-seconds", "0.3",
         "--faust-events", "0", "--writer-events", "1000", "--mixed-events", "2000", "--fresh-seconds", "2", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    table = out.read_text()
    for figure in ("End-to-end", "Kafka consume + codec.decode", "PostgreSQL COPY, PK", "Writer apply_batch alone",
                   "API: trivial aiohttp", "API: summary groupBy=customer", "Mixed end-to-end", "Freshness at a steady",
                   "API: unified-profile", "asyncpg: profile id lookup", "Writer alone with one live segment",
                   "Rebuild of the data set"):
        assert figure in table, figure
    assert "failed:" not in table
