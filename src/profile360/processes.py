"""Several processes under one command: ``profile360 worker --processes N`` and
``profile360 api --processes N``.

One Python process uses at most one core. N worker processes are N members of the worker's
consumer group: Kafka spreads the partitions over them, and every guarantee of
``worker.runner`` holds per partition exactly as with N workers started by hand (positions
stored with the rows, fencing of a stale member during a rebalance). N API processes listen on
one port (``SO_REUSEPORT``): the kernel spreads connections over them, and each serves from its
own pool; they share nothing but the database.

Contract of the supervisor:
- SIGTERM or SIGINT is passed on to every child; a worker commits the batch it holds and leaves
  the group, an API process stops accepting and finishes the requests in flight. A child still running ``STOP_GRACE`` seconds later is SIGKILLed (its open
  transaction rolls back; nothing is lost). The command exits 0 if every child stopped
  cleanly, else with the first failure's code.
- A child that exits on its own (a crash, or a fatal condition such as ``GenerationMismatch``)
  makes the supervisor stop the others and exit non-zero (the child's code, or 1 if that was
  0): the group fails as one, for the process manager to restart, rather than run on with
  fewer members than configured.
- If the supervisor itself dies, even by SIGKILL, the kernel sends every child SIGTERM
  (``PR_SET_PDEATHSIG``, set by the child itself at start-up, see ``die_with``), so no orphan
  goes on consuming.

Metrics (docs/operations.md): the API processes share one port, so a scrape lands on any of
them: they write their metrics to ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode), a directory the supervisor empties at start (``metrics_dir``), marks a
child's live gauges dead in when it exits, and removes at the end; every process answers
``/metrics`` with the sum over all of them. Each worker process serves its own metrics on its
own port: member i on ``P360_METRICS_BIND``'s port + i (``child_env``).
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Mapping

log = logging.getLogger(__name__)

STOP_GRACE = 60.0
_PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Called first thing in a child: have the kernel send SIGTERM when ``parent`` ends, and
    leave at once if it already has."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(1)


def spawn(module_args: list[str], settings_env: Mapping[str, str]) -> subprocess.Popen:
    """``python -m <module_args> --parent-pid <this pid>``, a child that calls ``die_with``.

    ``settings_env`` (``Settings.to_env``) is laid over this process's environment, which the
    child otherwise inherits (PATH, HOME, ...). Only from the main thread: the kernel signals
    the child when the *thread* that started it ends."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("spawn() must run on the main thread")
    return subprocess.Popen([sys.executable, "-m", *module_args, "--parent-pid", str(os.getpid())],
                            env={**os.environ, **settings_env})


def check_port_free(host: str, port: int) -> None:
    """Raise ``ValueError`` if another server listens on ``host:port``: processes that share
    a port with ``SO_REUSEPORT`` would otherwise share it with any server that set it too."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code  # killed by signal n: 128 + n, as a shell reports it


class _Group:
    """The children and what became of them; only ``reap`` collects exit statuses (signals
    are sent with ``os.kill``, never through ``Popen``, whose poll would reap behind it)."""

    def __init__(self, name: str, metrics_dir: Path | None = None) -> None:
        self.name = name
        self.metrics_dir = metrics_dir
        self.codes: dict[int, int | None] = {}  # pid: exit code, None while it runs
        self.stopping_since: float | None = None
        self.failure = 0

    def running(self) -> list[int]:
        return [pid for pid, code in self.codes.items() if code is None]

    def signal_all(self, sig: int) -> None:
        for pid in self.running():
            os.kill(pid, sig)  # a zombie (exited, not yet reaped) ignores it; its pid is not reused

    def stop(self, *_: object) -> None:
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
        self.signal_all(signal.SIGTERM)

    def reap(self) -> None:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0 or pid not in self.codes:
            if self.stopping_since is not None and time.monotonic() - self.stopping_since > STOP_GRACE:
                log.error("%s processes %s did not stop within %.0fs; killing them", self.name, self.running(), STOP_GRACE)
                self.signal_all(signal.SIGKILL)
            time.sleep(0.1)  # a signal wakes this early; nothing else to wait for
            return
        self.codes[pid] = code = _exit_code(status)
        if self.metrics_dir is not None:  # its counters stay in the sums; its live gauges go
            from prometheus_client.multiprocess import mark_process_dead
            mark_process_dead(pid, str(self.metrics_dir))
        if self.stopping_since is None:
            log.error("%s process %d exited with %d while the others ran; stopping them", self.name, pid, code)
            self.failure = code or 1
            self.stop()
        elif code not in (0, 128 + signal.SIGTERM) and not self.failure:  # SIGTERM before its handler: a clean stop
            self.failure = code


def metrics_dir(port: int) -> Path:
    """The multiprocess metrics directory of the API supervisor on ``port`` (one per port: two
    supervisors cannot share one)."""
    return Path(tempfile.gettempdir()) / f"profile360-api-metrics-{port}"


def supervise(command: str, processes: int, settings_env: Mapping[str, str],
              child_env: Callable[[int], Mapping[str, str]] = lambda i: {}, shared_metrics: Path | None = None) -> int:
    """Run ``processes`` times ``profile360 <command> --processes 1`` until a signal or until
    one of them exits; see the module docstring. Returns the exit code for the command.
    ``child_env(i)``: variables of child i; ``shared_metrics``: the children's multiprocess
    metrics directory (emptied now, removed at the end)."""
    if shared_metrics is not None:
        shutil.rmtree(shared_metrics, ignore_errors=True)
        shared_metrics.mkdir(parents=True)
        settings_env = {**settings_env, "PROMETHEUS_MULTIPROC_DIR": str(shared_metrics)}
    try:
        return _supervise(command, processes, settings_env, child_env, _Group(command, shared_metrics))
    finally:
        if shared_metrics is not None:
            shutil.rmtree(shared_metrics, ignore_errors=True)


def _supervise(command: str, processes: int, settings_env: Mapping[str, str],
               child_env: Callable[[int], Mapping[str, str]], group: _Group) -> int:
    children: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, group.stop)
    signal.signal(signal.SIGINT, group.stop)
    for i in range(processes):
        if group.stopping_since is not None:  # a signal came while starting them
            break
        child = spawn(["profile360", command, "--processes", "1"], {**settings_env, **child_env(i)})
        children.append(child)
        group.codes[child.pid] = None
    log.info("%s supervisor: %d processes %s", command, processes, [c.pid for c in children])
    while group.running():
        group.reap()
    for child in children:
        child.returncode = group.codes[child.pid]  # reaped here, not by Popen
    return group.failure
