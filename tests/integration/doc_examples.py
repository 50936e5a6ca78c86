"""The examples of ``docs/*.md``, as the docs test runs them.

- A fenced block marked ``sh`` or ``bash`` is an example: each of its commands (``\\``
  continues a line; a ``<<'EOF'`` here-document belongs to its command) is run as written,
  and must succeed.
- A ``json`` block right after one is the answer of its last command: the status it carries
  (``error.status`` or ``result.status``; else any 2xx) and every field as shown, except
  ``VARYING`` fields (times, generated ids, cursors: only null-or-not and the type are
  compared) and ``"…"`` (elided: any value; as a list's last element, more may follow; as a
  key, ``"…": "…"``, more keys may follow). A string ending in ``…`` matches by its prefix.
- Any other ``json`` block, and any example that only illustrates, is preceded by the line
  ``<!-- illustrative -->``; blocks without a language (command synopses) are not run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ELIDED = "…"
ILLUSTRATIVE = "<!-- illustrative -->"
VARYING = frozenset({
    "computedAt", "timestamp", "createdAt", "modifiedAt", "memberSince", "updatedAt", "firstSeenAt", "lastActiveAt",
    "occurredAt", "enrolledAt", "assignedAt", "completedAt", "exitedAt", "created_date", "updated_date",
    "last_interacted_date", "feedback_date", "erasureId", "eventId", "uuid", "location", "position", "nextCursor"})
_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Example:
    where: str  # file:line of the block
    commands: list[str]
    answer: Any = None  # the parsed json block that follows, if any
    answer_where: str = ""
    notes: list[str] = field(default_factory=list)


def blocks(path: Path) -> list[tuple[int, str, str, bool]]:
    """(line, language, text, illustrative) of every fenced block of a Markdown file."""
    out, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        marked = any(line.strip() == ILLUSTRATIVE for line in lines[max(0, i - 2):i])
        out.append((i + 1, opening[1], "\n".join(lines[i + 1:end]), marked))
        i = end + 1
    return out


def commands(text: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, here-documents kept whole."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        command = lines[i]
        i += 1
        while command.endswith("\\") and i < len(lines):
            command, i = command[:-1] + " " + lines[i].strip(), i + 1
        heredoc = re.search(r"<<-?'?(\w+)'?", command)
        if heredoc:
            end = lines.index(heredoc[1], i)
            command, i = "\n".join([command, *lines[i:end + 1]]), end + 1
        if command.strip() and not command.lstrip().startswith("#"):
            out.append(command.strip())
    return out


def examples(docs: Path) -> tuple[list[Example], list[str]]:
    """Every runnable example of ``docs/*.md`` in file order, and the json blocks that are
    neither an answer nor marked illustrative (each one a fault of the docs)."""
    found, stray = [], []
    for path in sorted(docs.glob("*.md")):
        previous: Example | None = None
        for line, lang, text, marked in blocks(path):
            where = f"{path.name}:{line}"
            if marked:
                previous = None
            elif lang in ("sh", "bash"):
                previous = Example(where, commands(text))
                found.append(previous)
            elif lang == "json" and previous is not None and previous.answer is None:
                previous.answer, previous.answer_where = orjson.loads(text), where
            elif lang == "json":
                stray.append(where)
            else:
                previous = None
    return found, stray


def expected_status(answer: Any) -> int | None:
    """The status a documented answer carries (None: any 2xx)."""
    if isinstance(answer, dict):
        for envelope in ("error", "result"):
            if isinstance(answer.get(envelope), dict) and isinstance(answer[envelope].get("status"), int):
                return answer[envelope]["status"]
    return None


def mismatches(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` differs from the documented ``expected`` (rules: module docstring)."""
    if expected == ELIDED:
        return []
    if isinstance(expected, str) and expected.endswith(ELIDED):
        ok = isinstance(actual, str) and actual.startswith(expected[:-1])
        return [] if ok else [f"{path}: {actual!r} does not start with {expected[:-1]!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        return _dict_mismatches(expected, actual, path)
    if isinstance(expected, list) and isinstance(actual, list):
        return _list_mismatches(expected, actual, path)
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return [f"{path}: documented {expected!r}, answered {actual!r}"]
    return []


def _dict_mismatches(expected: dict, actual: dict, path: str) -> list[str]:
    out = []
    missing, extra = set(expected) - set(actual) - {ELIDED}, set(actual) - set(expected)
    if missing or (extra and ELIDED not in expected):
        out.append(f"{path}: documented keys {sorted(missing)} missing, undocumented keys {sorted(extra)}")
    for key in set(expected) & set(actual):
        if key in VARYING:  # a time, id or cursor: its presence and type only
            if type(expected[key]) is not type(actual[key]):
                out.append(f"{path}.{key}: documented {expected[key]!r}, answered {actual[key]!r}")
        else:
            out += mismatches(expected[key], actual[key], f"{path}.{key}")
    return out


def _list_mismatches(expected: list, actual: list, path: str) -> list[str]:
    more = bool(expected) and expected[-1] == ELIDED
    shown = expected[:-1] if more else expected
    if len(actual) < len(shown) or (not more and len(actual) != len(shown)):
        return [f"{path}: documented {len(shown)}{'+' if more else ''} items, answered {len(actual)}"]
    return [m for i, item in enumerate(shown) for m in mismatches(item, actual[i], f"{path}[{i}]")]
