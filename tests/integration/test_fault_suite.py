"""Issue 13's fault suite on the real services (``fault_injections.FAULTS``, then SIGTERM under
load): for each fault, callers saw only 2xx, 429 and 503s with the fault's codes (never a 500 or
a dropped connection), the worker and API processes are the same ones, every table equals the
independent fold of the topics, and reads, writes and ingestion recovered (the times are
reported, not asserted: the deadlines only end a hung run). ``P360_FAULT_SECONDS`` sets how long
PostgreSQL stays stopped and the broker paused (60 s); ``P360_FAULT_REPORT`` names a file for
the report (it is printed too). ``make soak`` runs the same suite for longer."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from .fault_suite import Lengths, Load, check_result, run_suite

pytestmark = pytest.mark.integration
LOAD = Load(Lengths(long=float(os.environ.get("P360_FAULT_SECONDS", "60")), short=10))


async def test_every_fault_under_reads_writes_and_ingestion(settings, owned):
    result = await run_suite(settings, owned, LOAD)
    print("\n" + result.report())
    if os.environ.get("P360_FAULT_REPORT"):
        Path(os.environ["P360_FAULT_REPORT"]).write_text(result.report() + "\n")
    await check_result(settings, result)
