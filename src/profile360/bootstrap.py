"""The composition root: builds the codec, the database pool, the worker and the API from one
``Settings`` object. Entry points (the CLI, tests, the benchmark) start here."""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Callable

import asyncpg
from aiohttp import web

from profile360.api.app import create_app
from profile360.api.keys import STOPPING
from profile360.events.codec import Codec
from profile360.outages import riding_out
from profile360.resources import projections_dir, schemas_dir
from profile360.settings import Settings
from profile360.store.migrations import load_migrations, migrate
from profile360.store.pool import open_checked_pool
from profile360.topics import PROJECTED_FAMILIES, ensure_topics
from profile360.worker import metrics
from profile360.worker.runner import Worker

log = logging.getLogger(__name__)
#: after SIGTERM, how long answers close their connections before the idle ones are closed
CLOSING_NOTICE_SECONDS = 1.0


def load_codec() -> Codec:
    return Codec.from_dir(schemas_dir())


async def apply_migrations(settings: Settings) -> list[str]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await migrate(conn, load_migrations(projections_dir()))
    finally:
        await conn.close()


async def open_pool(settings: Settings, size: int = 4) -> asyncpg.Pool:
    """A pool to a database whose schema matches this build (else ``SchemaMismatch``); waits
    for the database through an outage."""
    pool, _ = await riding_out(open_checked_pool, settings.database_url, size, what="connecting to PostgreSQL",
                               command_timeout=120)
    return pool


def on_signals(callback: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, callback)


async def run_worker(settings: Settings) -> None:
    """Run the projection worker until SIGTERM/SIGINT; the batch in flight is finished first."""
    await riding_out(ensure_topics, settings, what="connecting to Kafka")
    observer = metrics.WorkerMetrics(settings.topic(f) for f in PROJECTED_FAMILIES)
    exposed = await metrics.serve(observer.registry, settings.metrics_host, settings.metrics_port)
    pool = await open_pool(settings)
    worker = Worker(settings, load_codec(), pool, observer=observer)
    on_signals(worker.stop)
    log.info("worker started: %r", settings)
    refresher = asyncio.create_task(metrics.refresh(worker, observer))
    try:
        await worker.run()
    finally:
        refresher.cancel()
        await pool.close()
        await exposed.cleanup()
    log.info("worker stopped after %d batches, %d records", worker.stats.batches, worker.stats.consumed)


async def run_api(settings: Settings, reuse_port: bool = False) -> None:
    """Serve the HTTP API until SIGTERM/SIGINT, then stop accepting at once; for
    ``CLOSING_NOTICE_SECONDS`` answers close their connections (``Connection: close``), so busy
    clients leave their keep-alive connections before the server closes them; then close the
    idle connections, let the requests in flight finish for up to ``api_drain_seconds`` (the
    rest are cut), and return. ``reuse_port``: share the port with the other processes of
    ``profile360 api --processes N`` (``SO_REUSEPORT``)."""
    # request lines up to 64 KiB: the longest query the API accepts (4,000 characters of ids,
    # percent-encoded) fits, so every request reaches the app and gets a JSON answer
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, max_line_size=65536, max_field_size=16384,
                           shutdown_timeout=settings.api_drain_seconds)
    await runner.setup()
    site = web.TCPSite(runner, settings.api_host, settings.api_port, reuse_port=reuse_port or None)
    await site.start()
    stop = asyncio.Event()
    on_signals(stop.set)
    log.info("API listening on http://%s:%d", settings.api_host, settings.api_port)
    try:
        await stop.wait()
        log.info("API stopping: no new connections; finishing requests in flight (at most %.0f s)",
                 settings.api_drain_seconds)
        app[STOPPING].set()
        await site.stop()
        await asyncio.sleep(min(CLOSING_NOTICE_SECONDS, settings.api_drain_seconds))
    finally:
        await runner.cleanup()
    log.info("API stopped")
