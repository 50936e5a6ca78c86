"""The segment rule language: parse, check and explain (evaluation: ``segment_rules``). Pure.

    trait.country in ["AE", "SA"] and consent.email.marketing = true
    count(purchase, 30) >= 3 or metric.spend_90d > 500
    tags contains "vip" and not trait.tier = "bronze"

A comparison is a field on the left and a literal on the right. Fields:

| field | value |
|---|---|
| ``trait.NAME`` (or ``attribute.NAME``) | the profile's trait or custom attribute (null when unset) |
| ``tags`` | the profile's tags; only ``tags contains "x"`` |
| ``consent.CHANNEL.PURPOSE`` | the latest consent (false when none) |
| ``metric.NAME`` | a built-in or tenant metric (see projections/metrics.py) |
| ``count(TYPE[, DAYS])``, ``sum(TYPE[, DAYS])`` | interactions of TYPE (or the sum of their value) over the last DAYS days, else all time |

Operators: ``= != < <= > >= in contains``, combined with ``and``, ``or``, ``not`` and
parentheses. Ordering operators need a number on the right; ``in`` a list. A comparison with
an unset (null) field is false, except ``= null`` / ``!= null``. Every problem is reported
as a ``RuleError`` with its column and what was expected.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from lark import Lark, Token, Transformer, UnexpectedInput, v_args


MAX_RULE_CHARS = 4000
MAX_DAYS = 3650
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")

_GRAMMAR = r"""
?expr: term | expr "or" term -> or_
?term: factor | term "and" factor -> and_
?factor: "not" factor -> not_ | "(" expr ")" | comparison
comparison: field OP literal
?field: path | call
path: NAME ("." NAME)*
call: NAME "(" NAME ("," INT)? ")"
?literal: STRING -> string | SIGNED_NUMBER -> number | "true" -> true | "false" -> false | "null" -> null
        | "[" [literal ("," literal)*] "]" -> list_
OP: "!=" | "<=" | ">=" | "=" | "<" | ">" | /in\b/ | /contains\b/
NAME: /(?!(and|or|not|true|false|null|in|contains)\b)[A-Za-z_][A-Za-z0-9_]*/
STRING: /"([^"\\]|\\.)*"/
%import common.SIGNED_NUMBER
%import common.INT
%import common.WS
%ignore WS
"""
_PARSER = Lark(_GRAMMAR, start="expr", parser="lalr", propagate_positions=True, maybe_placeholders=False)


class RuleError(ValueError):
    def __init__(self, message: str, column: int | None = None):
        super().__init__(f"at column {column}: {message}" if column else message)
        self.column = column


@dataclass(frozen=True)
class Field:
    kind: str  # trait, tags, consent, metric, count, sum
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Cmp:
    field: Field
    op: str
    value: Any


@dataclass(frozen=True)
class Node:
    op: str  # and, or, not
    items: tuple[Any, ...]


Rule = Cmp | Node


def _field(path: list[Token] | None, call: tuple[Token, Token | None] | None, column: int) -> Field:
    if call is not None:
        name, fn, days = call[0], call[1], call[2]
        if fn not in ("count", "sum"):
            raise RuleError(f"unknown function {fn}(); use count(TYPE, DAYS) or sum(TYPE, DAYS)", column)
        if not _NAME_RE.fullmatch(name):
            raise RuleError(f"{name!r} is not an interaction type ([a-z][a-z0-9_]*)", column)
        if days is not None and not 1 <= int(days) <= MAX_DAYS:
            raise RuleError(f"the window must be 1 to {MAX_DAYS} days, got {days}", column)
        return Field(str(fn), (str(name), int(days) if days is not None else None))
    parts = [str(p) for p in path or []]
    head, rest = parts[0], parts[1:]
    if head in ("trait", "attribute") and len(rest) == 1:
        return Field("trait", (rest[0],))
    if head == "tags" and not rest:
        return Field("tags")
    if head == "consent" and len(rest) == 2:
        return Field("consent", (rest[0].lower(), rest[1].lower()))
    if head == "metric" and len(rest) == 1:
        return Field("metric", (rest[0],))
    raise RuleError(f"unknown field {'.'.join(parts)!r}; fields are trait.NAME, tags, consent.CHANNEL.PURPOSE, "
                    "metric.NAME, count(TYPE, DAYS), sum(TYPE, DAYS)", column)


def _check(field: Field, op: str, value: Any, column: int) -> None:
    if field.kind == "tags" and op != "contains":
        raise RuleError("tags only supports `tags contains \"tag\"`", column)
    if op == "contains" and (field.kind != "tags" or not isinstance(value, str)):
        raise RuleError("`contains` needs tags on the left and a string on the right", column)
    if op in ("<", "<=", ">", ">=") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise RuleError(f"`{op}` needs a number on the right, got {value!r}", column)
    if op == "in" and not isinstance(value, list):
        raise RuleError("`in` needs a list on the right, such as [\"AE\", \"SA\"]", column)
    if op != "in" and isinstance(value, list):
        raise RuleError(f"a list can only follow `in`, not `{op}`", column)
    if field.kind == "consent" and (op not in ("=", "!=") or not isinstance(value, bool)):
        raise RuleError("consent is true or false: compare it with `= true` or `= false`", column)


@v_args(meta=True)
class _Build(Transformer):
    def or_(self, meta, items):
        return Node("or", tuple(items))

    def and_(self, meta, items):
        return Node("and", tuple(items))

    def not_(self, meta, items):
        return Node("not", tuple(items))

    def path(self, meta, items):
        return ("path", items, meta.column)

    def call(self, meta, items):
        fn, name, *days = items
        return ("call", (name, fn, days[0] if days else None), meta.column)

    def comparison(self, meta, items):
        (kind, body, column), op, value = items
        field = _field(body if kind == "path" else None, body if kind == "call" else None, column)
        _check(field, str(op), value, meta.column)
        return Cmp(field, str(op), value)

    def string(self, meta, items):
        try:
            return json.loads(items[0])
        except ValueError:
            raise RuleError(f"bad string literal {items[0][:40]}", meta.column) from None

    def number(self, meta, items):
        text = str(items[0])
        return float(text) if any(c in text for c in ".eE") else int(text)

    def true(self, meta, items):
        return True

    def false(self, meta, items):
        return False

    def null(self, meta, items):
        return None

    def list_(self, meta, items):
        return list(items)


_TERMINALS = {"LSQB": "[", "RSQB": "]", "LPAR": "(", "RPAR": ")", "COMMA": ",", "DOT": ".", "NAME": "a name",
              "NOT": "not", "AND": "and", "OR": "or", "TRUE": "true", "FALSE": "false", "NULL": "null",
              "STRING": "a string", "SIGNED_NUMBER": "a number", "INT": "a whole number of days",
              "OP": "an operator (= != < <= > >= in contains)"}


def _syntax_error(text: str, exc: UnexpectedInput) -> RuleError:
    token = getattr(exc, "token", None)
    if token is not None and token.type == "$END":
        found, column = "the end of the rule", len(text) + 1
    else:
        found = repr(str(token)) if token is not None else repr(text[exc.pos_in_stream:exc.pos_in_stream + 20])
        column = exc.column
    expected = sorted({_TERMINALS.get(t, t) for t in (getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])})
    return RuleError(f"unexpected {found}" + (f"; expected: {' | '.join(expected)}" if expected else ""), column)


def parse(text: str, known_metrics: Iterable[str] | None = None) -> Rule:
    """The checked rule, or ``RuleError`` explaining the first problem. With
    ``known_metrics``, a ``metric.NAME`` outside it is an error too."""
    if not text.strip():
        raise RuleError("the rule is empty")
    if len(text) > MAX_RULE_CHARS:
        raise RuleError(f"the rule is longer than {MAX_RULE_CHARS} characters")
    try:
        rule = _Build().transform(_PARSER.parse(text))
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except Exception as exc:  # a RuleError raised inside the transformer arrives wrapped
        inner = getattr(exc, "orig_exc", None)
        raise (inner if isinstance(inner, RuleError) else RuleError(str(exc))) from None
    if known_metrics is not None:
        unknown = sorted({f.args[0] for f in fields(rule) if f.kind == "metric"} - set(known_metrics))
        if unknown:
            raise RuleError(f"unknown metric {', '.join(unknown)}; known: {', '.join(sorted(known_metrics))}")
    return rule


def fields(rule: Rule) -> list[Field]:
    return [rule.field] if isinstance(rule, Cmp) else [f for item in rule.items for f in fields(item)]


def tags_named(rule: Rule) -> list[str]:
    """The tags of the rule's ``tags contains "x"`` comparisons."""
    if isinstance(rule, Cmp):
        return [rule.value] if rule.field.kind == "tags" else []
    return [t for item in rule.items for t in tags_named(item)]


def windowed(rule: Rule) -> bool:
    """Whether time passing alone can change the result (re-evaluated on a schedule)."""
    return any(f.kind == "metric" or f.kind in ("count", "sum") and f.args[1] is not None for f in fields(rule))
