"""The profile-section extension point: registration rules, and discovery of the sample plugin
(docs/examples/profile_section_plugin) through its entry point, served by the API."""
from __future__ import annotations

from pathlib import Path

import pytest

from profile360.api import sections
from profile360.topics import ensure_topics

from . import workload
from .harness import InProcessWorker, wait_caught_up
from .test_pipeline import api_client
from .test_profiles import PEOPLE, TENANT, at, publish_records

pytestmark = pytest.mark.integration
PLUGIN = Path(__file__).resolve().parents[2] / "docs" / "examples" / "profile_section_plugin"


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the section registry, so a test's plugins do not leak."""
    monkeypatch.setattr(sections, "_SECTIONS", dict(sections._SECTIONS))


def install_plugin(tmp_path: Path, monkeypatch) -> None:
    """What ``pip install`` leaves for importlib.metadata: the code on the path and a dist-info
    with the entry points (copied from the plugin's pyproject)."""
    dist = tmp_path / "p360_loyalty-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: p360-loyalty\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[profile360.profile_sections]\nloyalty = p360_loyalty:loyalty\n")
    assert 'loyalty = "p360_loyalty:loyalty"' in (PLUGIN / "pyproject.toml").read_text()
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))


def test_section_names_are_checked_and_never_taken_twice(registry):
    async def loader(conn, ref):
        return {}

    with pytest.raises(ValueError, match="must match"):
        sections.register_profile_section("Bad Name", loader)
    with pytest.raises(ValueError, match="already registered"):
        sections.register_profile_section("identities", loader)
    sections.register_profile_section("mine", loader)
    assert sections.sections()["mine"] is loader


async def test_an_installed_plugin_section_is_discovered_and_served(settings, registry, tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch)
    purchases = [{**e, "eventId": f"p{i}", "customerId": "C1" if i % 2 else "C2", "occurredAt": at(30 + i),
                  "type": "purchase", "value": 20.0} for i, e in enumerate(workload.interactions(TENANT, 4))]
    await ensure_topics(settings)
    await publish_records(settings, PEOPLE + [("InteractionEvent", r) for r in purchases])
    client = await api_client(settings)  # create_app discovers the plugin
    try:
        async with InProcessWorker(settings):
            await wait_caught_up(settings, timeout=60)
        resp = await client.get("/api/v1/customers/C2/unified-profile", params={"sections": "loyalty,identities"},
                                headers={"X-Tenant-Id": TENANT})
        body = await resp.json()
        assert resp.status == 200, body
        assert [s["name"] for s in body["sections"]] == ["loyalty", "identities"]
        assert body["sections"][0]["data"] == {"purchases": 4, "tier": "silver"}  # C1 and C2 are one profile
    finally:
        await client.close()
    assert "loyalty" in sections.discover()
