"""Summaries of py-spy's collapsed stacks (``py-spy record --format raw``): which functions
the sampled process spent its busy samples in.

A line of the input is ``frame;frame;...;leaf COUNT``, each frame ``function (file:line)``.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def _frame(raw: str) -> str:
    """``function (package/module.py)``, without the line number and the path before the
    package (so a frame counts once however many lines of it were sampled)."""
    name, _, where = _LINE.sub(")", raw).partition(" (")
    parts = where.rstrip(")").split("/")
    return f"{name} ({'/'.join(parts[-2:])})" if where else name


def read(path: Path) -> list[tuple[list[str], int]]:
    """(frames root first, samples) of each stack in a collapsed-stacks file."""
    out = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append(([_frame(f) for f in stack.split(";")], int(count)))
    return out


def shares(stacks: list[tuple[list[str], int]]) -> tuple[Counter[str], Counter[str], int]:
    """(inclusive samples per function, self samples per function, all samples)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for frames, n in stacks:
        total += n
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    return inclusive, own, total


def top(path: Path, n: int = 15, skip: tuple[str, ...] = ("run_forever", "_run_once", "_run (asyncio", "<module>",
                                                          "run (asyncio", "run_until_complete", "main (",
                                                          "_run_code", "_run_module_as_main", "run_api", "run (",
                                                          "dispatch (")) -> str:
    """The ``n`` functions with the most inclusive samples (event-loop frames left out), each
    with its inclusive and self share of the busy samples."""
    inclusive, own, total = shares(read(path))
    rows = [(f, c) for f, c in inclusive.most_common() if not any(s in f for s in skip)][:n]
    lines = [f"{100 * c / total:5.1f} % incl {100 * own[f] / total:5.1f} % self  {f}" for f, c in rows]
    return f"{total} busy samples\n" + "\n".join(lines)
