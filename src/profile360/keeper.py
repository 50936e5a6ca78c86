"""``profile360 keep <command> [args]``: run a profile360 command and start it again when it
exits on its own, as ``make run`` runs the worker and the API.

Contract:
- The command runs as ``python -m profile360 <command> [args]`` in this keeper's environment.
- A command that exits on its own (a fatal error, a crash, a kill by anything but this keeper)
  is logged with its exit code and started again after a pause that doubles from
  ``FIRST_PAUSE`` up to ``LAST_PAUSE``; a run that lasted ``STEADY`` seconds resets the pause.
- SIGTERM or SIGINT to the keeper is passed on to the command, which stops as it does on its
  own (the API drains, the worker commits); the keeper then exits with 0 when the command
  stopped cleanly, else with its code. A command started meanwhile is not started again.
- The command's output goes where the keeper's goes (``make run``: the log file).
"""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from typing import Callable, Sequence

from profile360.logs import EVERY

log = logging.getLogger("profile360.keeper")

FIRST_PAUSE, LAST_PAUSE, STEADY = 1.0, 60.0, 300.0


class Keeper:
    def __init__(self, argv: Sequence[str], sleep: Callable[[float], None] = time.sleep):
        self.argv, self.sleep = list(argv), sleep
        self.stopping = False
        self.child: subprocess.Popen | None = None

    def stop(self, *_: object) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Keep the command running until ``stop``; returns the keeper's exit code."""
        pause = FIRST_PAUSE
        while True:
            started = time.monotonic()
            self.child = subprocess.Popen([sys.executable, "-m", "profile360", *self.argv])
            if self.stopping:  # a signal came while it started
                self.child.send_signal(signal.SIGTERM)
            code = self.child.wait()
            code = 128 - code if code < 0 else code  # killed by signal n: 128 + n, as a shell reports it
            if self.stopping:
                return 0 if code in (0, 128 + signal.SIGTERM) else code
            ran = time.monotonic() - started
            pause = FIRST_PAUSE if ran >= STEADY else pause
            log.error("profile360 %s exited with %d after %.1f s; starting it again in %.0f s",
                      " ".join(self.argv), code, ran, pause, extra=EVERY)  # each restart is news
            self._pause(pause)
            if self.stopping:
                return 0
            pause = min(LAST_PAUSE, pause * 2)

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            self.sleep(min(0.2, deadline - time.monotonic()))


def keep(argv: Sequence[str]) -> int:
    keeper = Keeper(argv)
    signal.signal(signal.SIGTERM, keeper.stop)
    signal.signal(signal.SIGINT, keeper.stop)
    log.info("keeping profile360 %s running", " ".join(argv))
    return keeper.run()
