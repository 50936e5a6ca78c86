"""How the API's load limits trade answered requests against latency and refusals (issue 13:
"defaults chosen from measurements"): for each pair of ``P360_API_MAX_IN_FLIGHT`` and
``P360_DB_POOL_SIZE``, one API process serves one read route to 16 clients, then to a crowd
(clients honouring ``Retry-After``);
each row gives the crowd's answered requests/s, the answered p99 as a multiple of the p99 at
16 clients (same process, same minute), the shed share and the p99 of a refusal.

Run as a bench step after the data is in: ``python -m bench --steps end_to_end,limits``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from bench import api_probe, crowd
from profile360.settings import Settings

IN_FLIGHT = (16, 32, 64, 128, 256)
POOL_SIZES = (5, 10, 20)
BASELINE_CLIENTS = 16


@dataclass(frozen=True)
class Point:
    in_flight: int
    pool: int
    baseline_p99_ms: float
    crowd: crowd.Crowd

    @property
    def ratio(self) -> float:
        return self.crowd.p("answered", 0.99) / self.baseline_p99_ms if self.baseline_p99_ms else float("inf")

    def label(self) -> str:
        return f"Limits: max in flight {self.in_flight}, pool {self.pool}, {self.crowd.clients} clients (answered)"

    def detail(self) -> str:
        return f"p99 at {BASELINE_CLIENTS} clients {self.baseline_p99_ms:.1f} ms, crowd p99 ÷ it {self.ratio:.1f}×; " + self.crowd.detail()

    def row(self) -> str:
        c = self.crowd
        return (f"| {self.in_flight} | {self.pool} | {self.baseline_p99_ms:.1f} | {c.rate:,.0f} | {c.p('answered', 0.5):.1f} "
                f"| {c.p('answered', 0.99):.1f} | {self.ratio:.1f}× | {c.shed_share:.0%} | {c.p('shed', 0.99):.1f} "
                f"| {len(c.errors)} |")


HEADER = ("| max in flight | pool | p99 at 16 ms | crowd answered/s | answered p50 ms | answered p99 ms "
          "| ÷ p99 at 16 | shed | shed p99 ms | errors |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


async def point(settings: Settings, url_path: str, headers: dict, in_flight: int, pool: int, seconds: float,
                clients: int) -> Point:
    """One API process with these limits: the route at 16 clients, then at ``clients``."""
    limited = replace(settings, api_max_in_flight=in_flight, db_pool_size=pool)
    async with api_probe.serving_app(limited, 1) as base:
        alone = await api_probe.drive(base + url_path, seconds / 2, BASELINE_CLIENTS, headers)
        crowded = await crowd.drive(base + url_path, seconds, clients, headers, polite=True)
    return Point(in_flight, pool, alone.p99_ms, crowded)


async def sweep(settings: Settings, url_path: str, headers: dict, seconds: float, clients: int) -> list[Point]:
    return [await point(settings, url_path, headers, n, pool, seconds, clients)
            for pool in POOL_SIZES for n in IN_FLIGHT]


def table(points: list[Point]) -> str:
    return "\n".join([HEADER, *(p.row() for p in points)])
