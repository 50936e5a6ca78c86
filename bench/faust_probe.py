"""Faust bare stream: a Faust (faust-streaming) app whose only agent iterates
``stream.take(10000, within=0.5)`` over the interactions topic as raw bytes and does nothing.

Measured: events/s from the first batch the agent receives until it has seen the target
count (the events of that first batch are not counted: group join and the first fetch are
start-up, not streaming). Runs as its own process (``python -m bench.faust_probe``) under a
hard timeout, so a slow or misbehaving Faust cannot hang the benchmark.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import services
from profile360.settings import Settings


@dataclass
class FaustResult:
    events: int = 0
    seconds: float = 0.0
    startup_seconds: float = 0.0
    error: str | None = None


def _app(app_id: str, bootstrap: str, topic: str, target: int, datadir: str, started: float):
    import faust

    app = faust.App(app_id, broker=f"kafka://{bootstrap}", value_serializer="raw", key_serializer="raw",
                    store="memory://", web_enabled=False, consumer_auto_offset_reset="earliest", datadir=datadir)
    source = app.topic(topic, key_serializer="raw", value_serializer="raw")
    state = {"seen": 0, "first": 0, "t0": 0.0}

    @app.agent(source)
    async def sink(stream):  # noqa: ANN001 - Faust's stream type
        async for batch in stream.take(10_000, within=0.5):
            now = time.perf_counter()
            if not state["t0"]:
                state.update(t0=now, first=len(batch))
            state["seen"] += len(batch)
            if state["seen"] >= target:
                counted = state["seen"] - state["first"]
                result = {"events": counted, "seconds": now - state["t0"], "startup_seconds": state["t0"] - started}
                os.write(1, (json.dumps(result) + "\n").encode())  # Faust redirects sys.stdout to its log
                os._exit(0)  # a Faust shutdown can take many seconds; the figure is out
    return app


def main(argv: list[str]) -> None:
    """``python -m bench.faust_probe APP_ID BOOTSTRAP TOPIC TARGET DATADIR``"""
    started = time.perf_counter()
    app_id, bootstrap, topic, target, datadir = argv
    app = _app(app_id, bootstrap, topic, int(target), datadir, started)
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


def _failure(proc: subprocess.CompletedProcess | None, reason: str) -> FaustResult:
    tail = "" if proc is None else (proc.stderr or "").strip().splitlines()[-1:]
    return FaustResult(error=f"{reason}{': ' + tail[0][:160] if tail else ''}")


def run(settings: Settings, topic: str, target: int, timeout: float, datadir: Path) -> FaustResult:
    """Run the probe process; a result with ``error`` set if it failed or timed out."""
    try:
        import faust  # noqa: F401
    except Exception as exc:  # not installed, or broken against the installed aiokafka
        return FaustResult(error=f"faust not importable ({type(exc).__name__}: {exc})")
    cmd = [sys.executable, "-m", "bench.faust_probe", f"{settings.topic_prefix}-faust", settings.kafka_bootstrap,
           topic, str(target), str(datadir)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=services.REPO_ROOT)
    except subprocess.TimeoutExpired:
        return FaustResult(error=f"no result within the {timeout:.0f}s hard timeout")
    finally:
        shutil.rmtree(datadir, ignore_errors=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return _failure(proc, f"exit code {proc.returncode}, no result")
    return FaustResult(**json.loads(lines[-1]))


if __name__ == "__main__":
    main(sys.argv[1:])
