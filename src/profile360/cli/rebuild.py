"""``profile360 rebuild`` and ``profile360 replay``: the operator's side of the rebuild and
replay machinery, with a live progress bar."""
from __future__ import annotations

import sys
from datetime import datetime, timezone

from tqdm import tqdm

from profile360.events.codec import Codec
from profile360.settings import Settings
from profile360.worker.rebuild import Progress, rebuild
from profile360.worker.replay import replay_from


class _Bar:
    """Renders ``Progress`` samples as one live line: records, records/s, lag per topic, ETA."""

    def __init__(self, enabled: bool):
        self.bar = tqdm(total=0, unit="rec", unit_scale=True, dynamic_ncols=True, disable=not enabled,
                        file=sys.stderr, desc="rebuild")

    def __call__(self, p: Progress) -> None:
        self.bar.set_description(f"rebuild g{p.generation}")
        self.bar.total = max(p.total, p.applied)
        self.bar.n = p.applied
        lag = {t.rsplit(".", 1)[-1]: n for t, n in p.lag.items() if n}
        eta = f"{p.eta_seconds:.0f}s" if p.eta_seconds is not None else "?"
        self.bar.set_postfix_str(f"{p.rate:,.0f} rec/s, eta {eta}, lag {lag or 0}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


async def run_rebuild(settings: Settings, codec: Codec, keep_old: bool, show_progress: bool,
                      projection: str | None = None, allow_truncated: bool = False) -> int:
    bar = _Bar(show_progress)
    try:
        result = await rebuild(settings, codec, keep_old=keep_old, on_progress=bar, projection=projection,
                               allow_truncated=allow_truncated)
    finally:
        bar.close()
    fate = "dropped" if result.dropped else "kept (drop it with: profile360 generations drop " \
                                              f"{result.replaced})"
    print(f"rebuilt generation {result.generation} from {result.records:,} records in {result.seconds:.1f}s; "
          f"it is current now; generation {result.replaced} {fate}")
    return 0


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--from: expected an ISO 8601 time such as 2026-11-27T10:00:00Z, got {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


async def run_replay(settings: Settings, since: str) -> int:
    moved = await replay_from(settings, parse_time(since))
    for (topic, partition), (old, new) in sorted(moved.items()):
        print(f"{topic}[{partition}]: {old} -> {new} ({old - new} records to re-apply)")
    print(f"{len(moved)} partitions moved back; the running worker re-applies them" if moved
          else "nothing to replay: no partition has applied records published since then")
    return 0


async def run_generations(settings: Settings, action: str, number: int | None) -> int:
    import asyncpg

    from profile360.store import generations

    conn = await asyncpg.connect(settings.database_url)
    try:
        found = {g.number: g for g in await generations.all_generations(conn)}
        if action == "list":
            for g in found.values():
                print(f"{g.number}\t{g.state}\t{g.schema}")
            return 0
        if number not in found:
            raise ValueError(f"no generation {number}; there are: {sorted(found)}")
        await generations.drop(conn, found[number])
        print(f"generation {number} dropped")
        return 0
    finally:
        await conn.close()


async def run_purge(settings: Settings, codec: Codec, dry_run: bool) -> int:
    from profile360.worker.purge import purge

    report = await purge(settings, codec, dry_run)
    verb = "would remove" if dry_run else "removed"
    print(f"scanned {report.scanned:,} records; {verb} {report.removed:,} that erasures cover, "
          f"from {len(report.partitions)} partitions{': ' + ', '.join(report.partitions) if report.partitions else ''}")
    return 0
