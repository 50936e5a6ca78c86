"""The web console and /docs in a real headless Chromium (``browser``), on the demo data with
a worker and the API running as processes: sign in, the overview's cards and live ingest, a
profile found by email, a segment edited and a bad rule's error at its column, the dead
letters re-driven, a viewer's pages without edit buttons, Swagger UI's "Try it out"; no error
in the browser's console on any page. ``P360_CONSOLE_SHOTS=docs/console`` also saves a
screenshot of each page (the README's)."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

from profile360.bootstrap import load_codec
from profile360.cli.demo import publish_demo
from profile360.cli.produce import send_records
from profile360.cli.wait_http import wait
from profile360.worker.progress import wait_caught_up

from . import console_pages as pages
from . import workload
from .api_auth import make_key
from .browser import chromium
from .harness import start_api_process, start_worker_process, stop_process, worker_log

pytestmark = pytest.mark.integration
TENANT, EMAIL, SEGMENT = "demo", "email:jane.doe@example.com", "high_value"


async def _demo_with_extras(settings) -> None:
    """The demo data, a link below the tenant's threshold (0.8: shown, not merged) and an
    interaction dated 1990 (dead-lettered: too old)."""
    codec, now = load_codec(), datetime.now(timezone.utc).replace(microsecond=0)
    assert await publish_demo(settings, TENANT, wait=60) == 0
    await send_records(settings, codec, settings.topic("identity"), [("Link", {
        "eventId": "console-weak-link", "tenantId": TENANT, "occurredAt": now - timedelta(days=2),
        "identifier": {"type": "customer_id", "value": "CUST007"},
        "linkedIdentifier": {"type": "device_id", "value": "ipad-5f1c"}, "confidence": 0.55, "defaultRegion": None})])
    old = {**workload.interactions(TENANT, 1, prefix="console")[0], "eventId": "console-too-old",
           "occurredAt": datetime(1990, 1, 1, tzinfo=timezone.utc)}
    await send_records(settings, codec, settings.topic("interactions"), [("InteractionEvent", old)])
    await wait_caught_up(settings, timeout=60)


async def _feed(settings, stop: threading.Event) -> None:
    """Interactions of another tenant (the overview's cards stay the demo's) until ``stop``,
    at most 600 batches: the live-ingest chart has something to show."""
    codec = load_codec()
    for batch in range(600):
        if stop.is_set():
            return
        records = workload.interactions("feed", 20, prefix=f"feed{batch}-")
        await send_records(settings, codec, settings.topic("interactions"), [("InteractionEvent", r) for r in records])
        await asyncio.sleep(0.2)  # a pace, not a wait for anything


def _browse(base: str, admin: str, viewer: str, fed_topic: str, fed: threading.Event) -> None:
    driver = chromium()
    try:
        api = pages.Api(base, admin)
        pages.sign_in(driver, base, admin, "admin")
        try:
            pages.overview(driver, api, fed_topic)
        finally:
            fed.set()
        pages.profile(driver, api, EMAIL)
        pages.segments(driver, api, SEGMENT)
        pages.dead_letters(driver, api)
        pages.sign_out(driver)
        pages.sign_in(driver, base, viewer, "viewer")
        pages.viewer(driver, SEGMENT)
        pages.sign_out(driver)
        pages.swagger(driver, base, admin)
    finally:
        driver.quit()


async def test_the_console_and_the_api_docs_in_a_real_browser(settings):
    worker = start_worker_process(settings)
    api = start_api_process(settings)
    try:
        await _demo_with_extras(settings)
        admin, viewer = [await make_key(settings.database_url, TENANT, role) for role in ("admin", "viewer")]
        assert await asyncio.to_thread(wait, api.base_url + "/readyz", 30), worker_log(api)
        fed = threading.Event()
        feeding = asyncio.create_task(_feed(settings, fed))
        try:
            await asyncio.to_thread(_browse, api.base_url, admin, viewer, settings.topic("interactions"), fed)
        finally:
            fed.set()
            await feeding
    finally:
        stop_process(api)
        stop_process(worker)
