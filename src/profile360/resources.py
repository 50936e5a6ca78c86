"""Where the project's data files (Avro schemas, projection SQL) are found.

The repository keeps them in its top-level ``schemas/`` and ``projections/`` folders. The wheel
ships the same files inside the package, as ``profile360/_schemas`` and ``profile360/_sql``
(pyproject.toml's package-dir maps them in; nothing is copied by hand). One rule finds them:

1. ``importlib.resources.files("profile360") / "_schemas"`` (and ``"_sql"``), when that folder
   exists: the package was installed from a wheel or ``pip install .``.
2. Otherwise the package runs from a checkout's ``src/`` (``pip install -e .``, or
   ``PYTHONPATH=<checkout>/src``): the folders of *that* checkout (``checkout_root()``: two
   levels above the package, with a pyproject.toml), ``schemas/`` and ``projections/``.

Both look beside the package that is running, so ``PYTHONPATH=<checkout A>/src`` reads A's
folders even when another checkout is installed editable. (The subpackage
``profile360._schemas`` itself is importable only from the wheel: setuptools' editable finder
maps the top-level package alone, checked with an editable install.)

The package must be installed as files (pip's default), not run from a zip archive: callers get
a ``pathlib.Path`` and glob it. ``FileNotFoundError`` names both places when neither has the
folder.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def checkout_root() -> Path | None:
    """The checkout whose ``src/`` the running package comes from; None for an installed package."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "profile360").is_dir() else None


def _data_dir(packaged: str, in_checkout: str) -> Path:
    """The folder ``packaged`` inside the installed package, else ``in_checkout`` of the checkout."""
    inside = files("profile360") / packaged
    if isinstance(inside, Path) and inside.is_dir():
        return inside
    root = checkout_root()
    if root is not None and (root / in_checkout).is_dir():
        return root / in_checkout
    raise FileNotFoundError(f"profile360's data folder is missing: {inside} (an installed package) does not exist "
                            f"and the package does not run from a checkout with {in_checkout}/ (found: {root})")


def schemas_dir() -> Path:
    """The Avro schemas: ``<Name>/v<N>.avsc`` under it."""
    return _data_dir("_schemas", "schemas")


def projections_dir() -> Path:
    """The projection tables' numbered SQL migrations: ``NNNN_name.sql`` under it."""
    return _data_dir("_sql", "projections")
