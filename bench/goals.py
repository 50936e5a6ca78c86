"""The issues' goals (12: read models; 13: holding under load) beside this run's figures, each
marked met or missed.

``GOALS`` is the one list: each goal names the figure it reads (``Figure.key``), what it
measures of it and the bound. Measures (all within one run, so runs on a busier machine
compare):

- ``share``: the figure's requests/s ÷ the trivial aiohttp endpoint's (key ``trivial``);
- ``p99_ms``: the figure's 99th percentile latency, ms (``Figure.measures["p99_ms"]``);
- ``per_faust``: the figure's events/s ÷ the bare Faust loop's (key ``faust``);
- ``not_modified``: the share of answers that were 304 (``Figure.measures["not_modified"]``);
- ``p99_ratio``: the figure's p99 ÷ the p99 of the figure ``ref`` (the same route at concurrency 16);
- ``shed_p99_ms``: the 99th percentile latency of the refused answers (429/503), ms.

A goal whose figure is missing (step not run, failed) is "not measured"; a goal with no key is
not a figure of the bench (shown for completeness). The column "N API processes" shows the same
measure of the figure measured with N processes (key ``<key>@N``), for comparison only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bench.report import Figure

#: e2e ÷ bare Faust and mixed e2e ÷ bare Faust before issue 12 (BENCHMARKS.md, 2026-11-27 22:52 UTC)
E2E_PER_FAUST_BEFORE = 2.0
MIXED_PER_FAUST_BEFORE = 0.68


@dataclass(frozen=True)
class Goal:
    what: str
    key: str | None = None
    measure: str = "share"
    at_least: float | None = None
    at_most: float | None = None
    ref: str | None = None  # ``p99_ratio``: the figure compared with


#: the crowd rows' routes (``bench.__main__.CROWD_ROUTES``) and how the goals name them
CROWD = (("history_newest", "History, tenant's newest 20"), ("history_hot", "History of the hottest customer"),
         ("summary_action", "Summary groupBy=action"))
#: the crowd's two kinds of callers: key suffix of their rows, and how the goals name them
CROWD_MANNERS = (("", "honouring Retry-After"), ("_rude", "ignoring Retry-After"))
UNIFIED = "Unified profile, all sections, random of the run's profiles, one API process"
GOALS: tuple[Goal, ...] = (
    Goal(UNIFIED, "unified_profile", "share", at_least=0.40),
    Goal(UNIFIED, "unified_profile", "p99_ms", at_most=10),
    Goal("History, tenant's newest 20", "history_newest", "share", at_least=0.30),
    Goal("History of the hottest customer", "history_hot", "share", at_least=0.30),
    Goal("Summary groupBy=action", "summary_action", "share", at_least=0.30),
    Goal("Summary groupBy=treatment", "summary_treatment", "share", at_least=0.30),
    Goal("Summary groupBy=channel", "summary_channel", "share", at_least=0.30),
    Goal("Summary groupBy=customer, first page", "summary_customer", "share", at_least=0.20),
    Goal("Summary groupBy=customer&sort=total, 30 days", "summary_customer_total", "p99_ms", at_most=50),
    Goal("Freshness of a profile change under the mixed load", "freshness_profile", "p99_ms", at_most=1000),
    Goal(f"End-to-end interaction ingest ÷ bare Faust, at least 0.9 × {E2E_PER_FAUST_BEFORE}× (before issue 12)",
         "e2e", "per_faust", at_least=0.9 * E2E_PER_FAUST_BEFORE),
    Goal(f"Mixed end-to-end ÷ bare Faust, no lower than before issue 12 ({MIXED_PER_FAUST_BEFORE}×)",
         "mixed", "per_faust", at_least=MIXED_PER_FAUST_BEFORE),
    Goal("If-None-Match with the answer's ETag is answered 304 (item 3)", "unified_revalidated", "not_modified",
         at_least=1.0),
    Goal("Where the per-request time goes on the cheap routes, by a profiler (`python -m bench.api_costs --profile`)"),
    Goal("Where a goal is missed, BENCHMARKS.md says by how much and what takes the time"),
    *(g for route, what in CROWD for suffix, manners in CROWD_MANNERS for g in (
        Goal(f"Issue 13: {what} under a crowd {manners}, answered p99 ÷ its p99 at concurrency 16",
             f"crowd_{route}{suffix}", "p99_ratio", at_most=5, ref=route),
        Goal(f"Issue 13: {what} under a crowd {manners}, refused answers' p99 (ms)", f"crowd_{route}{suffix}",
             "shed_p99_ms", at_most=50))),
)

_PERCENT = ("share", "not_modified")


def _by_key(figures: list[Figure]) -> dict[str, Figure]:
    return {f.key: f for f in figures if f.key and not f.failure}


def _ratio(fig: Figure | None, ref: Figure | None) -> float | None:
    return fig.value / ref.value if fig and ref and fig.value is not None and ref.value else None


def _p99_ratio(fig: Figure | None, ref: Figure | None) -> float | None:
    mine, theirs = (f.measures.get("p99_ms") if f else None for f in (fig, ref))
    return mine / theirs if mine is not None and theirs else None


def measured(goal: Goal, figures: dict[str, Figure], key: str | None = None) -> float | None:
    """``goal``'s measure of the figure ``key`` (default: the goal's own), None if not measured."""
    fig = figures.get(key or goal.key or "")
    readers: dict[str, Callable[[], float | None]] = {
        "share": lambda: _ratio(fig, figures.get("trivial")),
        "per_faust": lambda: _ratio(fig, figures.get("faust")),
        "p99_ms": lambda: fig.measures.get("p99_ms") if fig else None,
        "not_modified": lambda: fig.measures.get("not_modified") if fig else None,
        "p99_ratio": lambda: _p99_ratio(fig, figures.get(goal.ref or "")),
        "shed_p99_ms": lambda: fig.measures.get("shed_p99_ms") if fig and fig.measures.get("shed_share") else None,
    }
    return readers[goal.measure]()


def _show(goal: Goal, value: float | None) -> str:
    if value is None:
        return ""
    if goal.measure in _PERCENT:
        return f"{value:.1%}"
    return f"{value:,.1f} ms" if goal.measure in ("p99_ms", "shed_p99_ms") else f"{value:.2f}×"


def _target(goal: Goal) -> str:
    if goal.key is None:
        return ""
    bound = goal.at_least if goal.at_least is not None else goal.at_most
    word = {"share": " of trivial req/s", "p99_ms": " p99", "per_faust": "", "not_modified": " 304", "p99_ratio": "",
            "shed_p99_ms": " p99"}[goal.measure]
    return f"{'≥' if goal.at_least is not None else '≤'} {_show(goal, bound)}{word}"


def verdict(goal: Goal, value: float | None) -> str:
    if goal.key is None:
        return "not a bench figure"
    if value is None:
        return "not measured"
    met = (goal.at_least is None or value >= goal.at_least) and (goal.at_most is None or value <= goal.at_most)
    return "met" if met else "**missed**"


def table(figures: list[Figure], processes: int = 2) -> str:
    """The goals table of a run whose second API pass used ``processes`` processes (none if
    ``processes`` ≤ 1: no such column)."""
    keyed, scaled = _by_key(figures), processes > 1
    head = ["Goal (issues 12, 13)", "Target", "This run", *([f"{processes} API processes"] if scaled else []), "Result"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- | ---: |" + (" ---: |" if scaled else "") + " --- |"]
    for goal in GOALS:
        value = measured(goal, keyed)
        more = [_show(goal, measured(goal, keyed, f"{goal.key}@{processes}") if goal.key else None)] if scaled else []
        cells = [goal.what, _target(goal), _show(goal, value), *more, verdict(goal, value)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
