"""The seeds' JSON shapes of summary rows (``api.render``)."""
from __future__ import annotations

from profile360.api.render import summary_group

COUNTS = {"impression": 4, "click": 1, "dismiss": 0, "convert": 0}


def test_a_channel_group_keyed_by_its_medium_shows_that_medium():
    row = summary_group("channel", {"key": "EMAIL", "name": None, "medium": None, **COUNTS})
    assert (row["id"], row["name"], row["medium"], row["total"], row["ctr"]) == ("EMAIL", None, "EMAIL", 5, 25.0)


def test_a_catalog_channel_shows_its_catalog_medium():
    assert summary_group("channel", {"key": "ch_1", "name": "Mail", "medium": "EMAIL", **COUNTS})["medium"] == "EMAIL"
    assert summary_group("channel", {"key": "ch_2", "name": None, "medium": None, **COUNTS})["medium"] is None
