"""Hypothesis strategies that generate valid records for any Avro schema in ``schemas/``."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hypothesis import strategies as st

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=timezone.utc))
_PRIMITIVES = {
    "string": _TEXT, "boolean": st.booleans(), "int": st.integers(-2**31, 2**31 - 1),
    "long": st.integers(-2**63, 2**63 - 1), "double": st.floats(allow_nan=False), "null": st.none(),
}


def for_schema(schema: Any, named: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    named = {} if named is None else named
    if isinstance(schema, list):
        return st.one_of([for_schema(s, named) for s in schema])
    if isinstance(schema, str):
        return for_schema(named[schema], named) if schema in named else _PRIMITIVES[schema]
    kind = schema["type"]
    if schema.get("logicalType") == "timestamp-millis":
        return _TIMES
    if kind == "record":
        named[schema["name"]] = schema
        return st.fixed_dictionaries({f["name"]: for_schema(f["type"], named) for f in schema["fields"]})
    if kind == "array":
        return st.lists(for_schema(schema["items"], named), max_size=3)
    if kind == "map":
        return st.dictionaries(_TEXT, for_schema(schema["values"], named), max_size=3)
    return for_schema(kind, named)
