"""Where the package finds its schemas and SQL when it runs from a checkout (the installed wheel
is covered by tests/integration/test_wheel.py), and the devstack folder's default."""
from __future__ import annotations

from pathlib import Path

import pytest

from profile360 import resources
from profile360.settings import Settings
from profile360.store.migrations import load_migrations

CHECKOUT = Path(__file__).resolve().parents[2]


def test_from_a_checkout_the_data_is_that_checkouts_folders():
    assert resources.checkout_root() == CHECKOUT
    assert resources.schemas_dir() == CHECKOUT / "schemas"
    assert resources.projections_dir() == CHECKOUT / "projections"


def test_from_a_checkout_the_devstack_is_the_checkouts_wherever_the_command_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Settings().devstack_dir == CHECKOUT / ".devstack"
    assert Settings.from_env({"P360_DEVSTACK_DIR": "/srv/p360"}).devstack_dir == Path("/srv/p360")


def test_a_folder_without_migrations_is_an_error_not_an_empty_schema(tmp_path):
    with pytest.raises(FileNotFoundError, match="no migrations"):
        load_migrations(tmp_path)
