"""``profile360 tenants show|set``: a tenant's settings. ``set`` publishes a TenantConfigured
event (the current settings with the changes given) and waits until the worker applied it, so
a rebuild reproduces the settings like everything else."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, replace

import asyncpg

from profile360.bootstrap import load_codec
from profile360.cli.produce import send_records
from profile360.events.rules import new_envelope
from profile360.settings import Settings
from profile360.store import tenants
from profile360.topics import ensure_topics


async def _current(settings: Settings, tenant: str) -> tenants.TenantSettings:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return (await tenants.settings_of(conn, [tenant]))[tenant]
    finally:
        await conn.close()


async def show(settings: Settings, tenant: str) -> int:
    print(json.dumps(asdict(await _current(settings, tenant)), indent=2))
    return 0


async def set_(settings: Settings, tenant: str, customer360: str | None, threshold: float | None,
               region: str | None, wait: float = 30) -> int:
    current = await _current(settings, tenant)
    wanted = replace(current, is_customer360=current.is_customer360 if customer360 is None else customer360 == "on",
                     link_threshold=current.link_threshold if threshold is None else threshold,
                     default_region=current.default_region if region is None else (None if region == "none" else region))
    record = {**new_envelope(tenant, "tenant"), "isCustomer360": wanted.is_customer360, "linkThreshold": wanted.link_threshold,
              "defaultRegion": wanted.default_region}
    codec = load_codec()
    from profile360.events.model import from_record
    from_record("TenantConfigured", codec.decode(codec.encode("TenantConfigured", record)).record)  # refuse before sending
    await ensure_topics(settings)
    await send_records(settings, codec, settings.topic("definitions"), [("TenantConfigured", record)])
    deadline = time.monotonic() + wait
    while await _current(settings, tenant) != wanted:
        if time.monotonic() > deadline:
            print(f"published; the worker has not applied it within {wait:.0f}s (is `profile360 worker` running?)",
                  file=sys.stderr)
            return 1
        await asyncio.sleep(0.1)
    print(json.dumps(asdict(wanted), indent=2))
    return 0
