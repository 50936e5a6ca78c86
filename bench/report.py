"""The benchmark's markdown report: one table of every figure, the machine and the command."""
from __future__ import annotations

from dataclasses import dataclass, field

THROUGHPUT_UNITS = ("events/s", "rows/s", "records/s")


@dataclass
class Figure:
    """One measured figure. ``role``: ``e2e`` (the reference), ``limit`` (a raw limit the e2e
    rate is compared with), ``faust``, ``api`` (requests/s, compared with the trivial endpoint's,
    key ``trivial``) or ``info`` (shown, not compared). ``key``: a stable name for the goals
    table (``bench.goals``); ``measures``: more numbers than ``value`` (``p99_ms``, ...)."""

    name: str
    value: float | None
    unit: str
    detail: str = ""
    role: str = "limit"
    failure: str | None = None
    key: str | None = None
    measures: dict[str, float] = field(default_factory=dict)


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(fig: Figure, e2e: float | None, trivial: float | None) -> str:
    if fig.role == "api" and fig.key != "trivial" and fig.unit == "requests/s" and fig.value and trivial:
        return f"{fig.value / trivial:.1%} of trivial"
    if fig.role == "e2e":
        return "1"
    if not e2e or not fig.value or fig.role not in ("limit", "faust") or fig.unit not in THROUGHPUT_UNITS:
        return ""
    if fig.role == "faust":
        return f"{e2e / fig.value:.2f} (Faust = {fig.value / e2e:.2f}× e2e)"
    return f"{e2e / fig.value:.2f}"


def _row(fig: Figure, e2e: float | None, trivial: float | None) -> str:
    value = f"failed: {fig.failure}" if fig.failure else ("" if fig.value is None else _number(fig.value))
    cells = [fig.name, value, fig.unit, _ratio(fig, e2e, trivial), fig.detail]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def table(figures: list[Figure]) -> str:
    e2e = next((f.value for f in figures if f.role == "e2e" and not f.failure), None)
    trivial = next((f.value for f in figures if f.key == "trivial" and not f.failure), None)
    lines = ["| Figure | Value | Unit | e2e ÷ this | Detail |", "| --- | ---: | --- | ---: | --- |"]
    return "\n".join(lines + [_row(f, e2e, trivial) for f in figures])


def markdown(figures: list[Figure], machine: dict[str, str], command: str, workload: str, started: str,
             goals: str = "") -> str:
    """The whole report: heading, command line, machine facts, workload, table, then ``goals``
    (the goals table, ``bench.goals.table``) if given."""
    facts = (f"{machine.get('nproc')} CPUs ({machine.get('cpu')}), {machine.get('memory')} RAM, "
             f"Linux {machine.get('kernel')}, Python {machine.get('python')}, Kafka {machine.get('kafka')}, "
             f"PostgreSQL {machine.get('postgres')}")
    return "\n".join([
        f"## profile360 benchmark ({started})", "",
        f"Command: `{command}`", "",
        f"Machine: {facts}", "",
        f"Workload: {workload}", "",
        table(figures), "",
        "`e2e ÷ this`: the end-to-end rate as a fraction of each raw limit measured in the same run "
        "(1 would mean the worker runs at that limit); on the API rows, their requests/s as a share of "
        "the trivial aiohttp endpoint's in the same run. API rows are one API process unless their label "
        "names more.", "",
        *([goals, ""] if goals else []),
    ])
