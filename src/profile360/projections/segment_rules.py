"""Evaluating segment rules (the language: ``rule_syntax``) against one profile. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from profile360.projections import metrics
from profile360.projections.buckets import Bucket
from profile360.projections.rule_syntax import Cmp, Field, Rule, RuleError, fields, parse, windowed

__all__ = ["Subject", "evaluate", "parse", "fields", "windowed", "RuleError", "Rule"]


@dataclass(frozen=True)
class Subject:
    """What a rule reads of one profile."""

    traits: dict[str, Any]
    tags: frozenset[str]
    consent: dict[tuple[str, str], bool]
    rows: list[metrics.Row]
    metric: Callable[[str], Any]
    today: date


def _value(f: Field, s: Subject) -> Any:
    if f.kind == "trait":
        return s.traits.get(f.args[0])
    if f.kind == "tags":
        return s.tags
    if f.kind == "consent":
        return s.consent.get(f.args, False)
    if f.kind == "metric":
        return s.metric(f.args[0])
    b: Bucket = metrics.total(metrics.in_window(s.rows, f.args[1], s.today, (f.args[0],)))
    return b.n if f.kind == "count" else float(b.value_sum)


_ORDER = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _compare(left: Any, op: str, right: Any) -> bool:
    if op in ("=", "!="):
        same = left == right and isinstance(left, bool) == isinstance(right, bool)
        return same if op == "=" else not same
    if left is None:
        return False
    if op == "in":
        return any(left == r and isinstance(left, bool) == isinstance(r, bool) for r in right)
    if op == "contains":
        return right in left
    return isinstance(left, (int, float)) and not isinstance(left, bool) and _ORDER[op](left, right)


def evaluate(rule: Rule, subject: Subject) -> bool:
    if isinstance(rule, Cmp):
        return _compare(_value(rule.field, subject), rule.op, rule.value)
    if rule.op == "not":
        return not evaluate(rule.items[0], subject)
    results = (evaluate(item, subject) for item in rule.items)
    return all(results) if rule.op == "and" else any(results)
