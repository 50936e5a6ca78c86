"""``make bench`` keeps working: a tiny run on the test services fills every figure, including
the second pass with two API processes, the freshness of a profile change, the 304 row and the
goals table, the crowd rows, and the collect rows (POST /api/v1/events beside profile360 produce)."""
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
        [sys.executable, "-m", "bench", "--events", "1000", "--customers", "100", "--api-seconds", "0.3",
         "--faust-events", "0", "--writer-events", "300", "--mixed-events", "600", "--fresh-seconds", "1", "--api-processes", "2", "--crowd", "40", "--crowd-seconds", "1",
         "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    table = out.read_text()
    for figure in ("End-to-end", "Kafka consume + codec.decode", "PostgreSQL COPY, PK", "Writer apply_batch alone",
                   "API: trivial aiohttp", "API: summary groupBy=customer", "Mixed end-to-end", "Freshness at a steady",
                   "API: unified-profile", "asyncpg: profile id lookup", "Writer alone with one live segment",
                   "Rebuild of the data set", "API: summary groupBy=treatment", "API: summary groupBy=channel",
                   "API: history, tenant newest 20 (2 API processes)", "all sections, random of 100 profiles (2 API processes)",
                   "Freshness of a profile change", "API: unified-profile revalidated", "revalidated (If-None-Match: its "
                   "ETag; 304 answers), random of 100 profiles (2 API processes)", "| Goal (issues 12, 13) |",
                   "API: history, tenant newest 20, 40 clients honouring Retry-After (answered)",
                   "API: summary groupBy=action, 40 clients ignoring Retry-After",
                   "Issue 13: History of the hottest customer under a crowd ignoring Retry-After",
                   "Collect: `profile360 produce`", "Collect: POST /api/v1/events, batches of 500, concurrency 16"):
        assert figure in table, figure
    assert "failed:" not in table
    revalidated = next(line for line in table.splitlines() if line.startswith("| API: unified-profile revalidated"))
    assert "304 for " in revalidated and "ETag on " in revalidated  # how many 304 and 200, whether or not ETags exist
    assert "not measured" in table  # the bare Faust loop was skipped: its goal says so
