"""``profile360 keep`` (``keeper.py``), what ``make run`` runs the worker and the API under: a
command that exits on its own is logged and started again after growing pauses; SIGTERM
stops the command as it stops on its own, and the keeper with it."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

import aiohttp
import pytest

from profile360.devstack import free_port

from .harness import env_for, wait_until

pytestmark = pytest.mark.integration


def start_keeper(env: dict[str, str], *argv: str) -> subprocess.Popen:
    log = tempfile.NamedTemporaryFile(prefix="keeper-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "profile360", "keep", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log.name  # type: ignore[attr-defined]
    return proc


def log_of(proc: subprocess.Popen) -> str:
    with open(proc.log_path, encoding="utf-8", errors="replace") as f:  # type: ignore[attr-defined]
        return f.read()


async def test_a_command_that_exits_is_started_again_after_growing_pauses(settings):
    taken = socket.create_server(("127.0.0.1", 0))  # another server holds the port: the API exits 2 at start
    port = taken.getsockname()[1]
    keeper = start_keeper({**env_for(settings), "API_BIND": f"127.0.0.1:{port}"}, "api", "--processes", "2")
    try:
        async def restarted_twice():
            return len(re.findall(r"starting it again in (\d+) s", log_of(keeper))) >= 2 or None
        await wait_until(restarted_twice, 60, "two restarts")
        pauses = [int(p) for p in re.findall(r"starting it again in (\d+) s", log_of(keeper))]
        assert pauses[:2] == [1, 2], log_of(keeper)
        assert "exited with 2" in log_of(keeper), log_of(keeper)
        keeper.send_signal(signal.SIGTERM)  # during a pause: nothing left to stop
        assert keeper.wait(10) == 0, log_of(keeper)
    finally:
        taken.close()
        if keeper.poll() is None:
            keeper.kill()


async def _healthz_pid(base_url: str) -> int | None:
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            async with session.get(base_url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                return (await resp.json())["pid"]
    except (aiohttp.ClientError, TimeoutError):
        return None


async def test_a_killed_api_is_started_again_and_sigterm_stops_both(settings):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    keeper = start_keeper({**env_for(settings), "API_BIND": f"127.0.0.1:{port}"}, "api", "--processes", "1")
    try:
        first = await wait_until(lambda: _healthz_pid(base), 60, "the API answering")
        os.kill(first, signal.SIGKILL)

        async def another():
            pid = await _healthz_pid(base)
            return pid if pid not in (None, first) else None
        second = await wait_until(another, 60, "a new API process answering")
        assert f"exited with {128 + signal.SIGKILL}" in log_of(keeper), log_of(keeper)
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(40) == 0, log_of(keeper)
        assert await _healthz_pid(base) is None
        with pytest.raises(ProcessLookupError):
            os.kill(second, 0)
    finally:
        if keeper.poll() is None:
            keeper.kill()
