"""Small process helpers shared by the devstack modules (POSIX/Linux only)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def read_pid(pid_file: Path) -> int | None:
    """Return the integer pid stored in ``pid_file``, or None if absent/garbled."""
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def pid_alive(pid: int, marker: str | None = None) -> bool:
    """True if ``pid`` exists, is not a zombie and (if given) its cmdline contains ``marker``.

    Zombie children of the current process are reaped as a side effect.
    """
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        _reap(pid)
        return False
    return marker is None or marker in cmdline


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child; ignore otherwise."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def terminate(pid: int, timeout: float, marker: str | None = None) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds, then SIGKILL and wait a bit more."""
    for sig, limit in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not pid_alive(pid, marker):
                return
            time.sleep(0.1)
    raise TimeoutError(f"process {pid} survived SIGKILL")


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of ``path`` (empty string if unreadable)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
