"""Where the project's data files (Avro schemas, projection SQL) are found.

In a source checkout they are the top-level ``schemas/`` and ``projections/`` folders.
"""
from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def schemas_dir() -> Path:
    return _ROOT / "schemas"


def projections_dir() -> Path:
    return _ROOT / "projections"
