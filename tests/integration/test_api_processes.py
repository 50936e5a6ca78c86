"""``profile360 api --processes N``: N processes answer on one port; SIGTERM stops them all
cleanly; one that dies takes the others down with it (the command's exit code says how); a
port another server holds is refused before anything starts."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import pytest

from .harness import env_for, serving, start_api_process, stop_process, wait_until, worker_log

pytestmark = pytest.mark.integration


async def test_two_processes_share_the_port_and_stop_together_on_sigterm(settings):
    api = start_api_process(settings, P360_API_PROCESSES="2")
    try:
        children = await serving(api, 2)
    finally:
        code = stop_process(api)
    assert code == 0, worker_log(api)
    assert all(not os.path.exists(f"/proc/{pid}") for pid in children), "no process left behind"


async def test_a_process_that_dies_stops_the_others_and_the_command_fails(settings):
    api = start_api_process(settings, P360_API_PROCESSES="2")
    try:
        first, second = await serving(api, 2)
        os.kill(first, signal.SIGKILL)
        assert await asyncio.to_thread(api.wait, 60) == 128 + signal.SIGKILL, worker_log(api)
        await wait_until(lambda: asyncio.to_thread(lambda: not os.path.exists(f"/proc/{second}")), 30,
                         "the other process stopped")
    finally:
        if api.poll() is None:
            stop_process(api)


def test_a_port_in_use_is_refused_before_any_process_starts(settings):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "profile360", "api", "--processes", "2"], capture_output=True,
                             text=True, timeout=60, env={**env_for(settings), "API_BIND": f"127.0.0.1:{port}"})
    assert run.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in run.stderr, run.stderr
