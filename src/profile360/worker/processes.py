"""Several worker processes under one command: ``profile360 worker --processes N``.

One Python process decodes and folds at most one core's worth of events. N processes are N
members of the worker's consumer group: Kafka spreads the partitions over them, and every
guarantee of ``worker.runner`` holds per partition exactly as with N workers started by hand
(positions stored with the rows, fencing of a stale member during a rebalance).

Contract of the supervisor:
- SIGTERM or SIGINT is passed on to every child; each commits the batch it holds and leaves
  the group; the supervisor exits 0 once all have.
- A child that exits on its own (a crash, or a fatal condition such as ``GenerationMismatch``)
  makes the supervisor stop the others and exit non-zero (the child's code, or 1 if that was
  0): the group fails as one, for the process manager to restart, rather than run on with
  fewer members than configured.
- If the supervisor itself dies, even by SIGKILL, the kernel sends every child SIGTERM
  (``PR_SET_PDEATHSIG``), so no orphan goes on consuming.
"""
from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import subprocess
import sys
from typing import Mapping

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Runs in the child between fork and exec: ask for SIGTERM when the parent dies (and
    leave at once if it already has)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)


def spawn(module_args: list[str], settings_env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """``python -m <module_args>`` as a child that receives SIGTERM when this process dies.
    ``settings_env`` (``Settings.to_env``) is laid over this process's environment, which the
    child otherwise inherits (PATH, HOME, ...)."""
    env = None if settings_env is None else {**os.environ, **settings_env}
    return subprocess.Popen([sys.executable, "-m", *module_args], env=env,
                            preexec_fn=functools.partial(_die_with, os.getpid()))


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code  # killed by signal n: 128 + n, as a shell reports it


def supervise(processes: int) -> int:
    """Run ``processes`` worker processes until a signal or until one of them exits; see the
    module docstring. Returns the exit code for the command."""
    children = {c.pid: c for c in (spawn(["profile360", "worker", "--processes", "1"]) for _ in range(processes))}
    log.info("worker supervisor: %d processes %s", processes, sorted(children))
    stopping, failure = False, 0

    def stop_all(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    while any(c.returncode is None for c in children.values()):
        try:
            pid, status = os.wait()
        except ChildProcessError:  # the last ones were reaped by Popen.send_signal's poll
            break
        if pid not in children:
            continue
        children[pid].returncode = code = _exit_code(status)
        if not stopping:
            log.error("worker process %d exited with %d while the others ran; stopping them", pid, code)
            failure = code or 1
            stop_all()
    return failure
