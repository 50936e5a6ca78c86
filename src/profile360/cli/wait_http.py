"""``python -m profile360.cli.wait_http URL SECONDS``: poll until URL answers 200 (for scripts)."""
from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request


def wait(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


if __name__ == "__main__":
    ok = wait(sys.argv[1], float(sys.argv[2]))
    if not ok:
        print(f"{sys.argv[1]} did not answer within {sys.argv[2]}s", file=sys.stderr)
    sys.exit(0 if ok else 1)
