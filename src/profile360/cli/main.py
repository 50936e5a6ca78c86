"""The ``profile360`` command line."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import replace

from profile360.settings import Settings


def _parser() -> argparse.ArgumentParser:
    from profile360.store.api_keys import ROLES

    p = argparse.ArgumentParser(prog="profile360", description="Event-sourced Customer 360 service")
    sub = p.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("devstack", help="local Kafka (KRaft) and PostgreSQL without Docker")
    dev.add_argument("action", choices=("up", "down", "status"))
    dev.add_argument("--replica", action="store_true",
                     help="up: also a streaming replica of the PostgreSQL (pg_basebackup -R), on DATABASE_READ_URL's "
                          "port (default: the primary's port + 1)")
    sub.add_parser("migrate", help="apply the projection schema (idempotent)")
    work = sub.add_parser("worker", help="run the projection worker")
    work.add_argument("--processes", type=int, metavar="N",
                      help="consumer-group members to run, one process each (default: P360_WORKER_PROCESSES or 1)")
    work.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # a member started by a supervisor
    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--processes", type=int, metavar="N",
                     help="processes serving on one port (SO_REUSEPORT) (default: P360_API_PROCESSES or one per core)")
    api.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # a member started by a supervisor
    prod = sub.add_parser("produce", help="publish JSON lines as Avro events")
    prod.add_argument("--topic", required=True, help="a topic family: interactions, catalog, identity, consent, experiments, "
                                                     "journeys, definitions, erasure, customers or feedback")
    prod.add_argument("file", help="JSON lines file, or - for standard input")
    dead = sub.add_parser("dlq", help="list dead letters, or replay them to their origin topics after a fix")
    dead.add_argument("action", choices=("list", "replay"))
    dead.add_argument("--reason", help="only letters with this reason (e.g. unknown_schema, invalid_event)")
    dead.add_argument("--origin-topic", help="only letters from this topic")
    dead.add_argument("--dry-run", action="store_true", help="replay: only count what would be sent")
    reb = sub.add_parser("rebuild", help="rebuild every projection from the topics into a new generation, then switch to it")
    reb.add_argument("--keep-old", action="store_true", help="keep the replaced generation (drop it later with `generations drop`)")
    reb.add_argument("--no-progress", action="store_true", help="no live progress bar")
    reb.add_argument("--allow-truncated", action="store_true",
                     help="rebuild even though a topic lost its first records to retention (they are not in the result)")
    reb.add_argument("--processes", type=int, metavar="N",
                     help="processes applying the records (default: P360_WORKER_PROCESSES or 1)")
    reb.add_argument("--projection", choices=("interactions", "catalog", "profiles", "segments", "organizations"),
                     help="rebuild only this projection's tables (the others are copied from the current generation)")
    rep = sub.add_parser("replay", help="re-apply (idempotently) every record published since a time")
    rep.add_argument("--from", dest="since", required=True, metavar="TIMESTAMP", help="ISO 8601, e.g. 2026-11-27T10:00:00Z")
    pur = sub.add_parser("purge", help="remove the records erasures cover from the Kafka topics themselves")
    pur.add_argument("--dry-run", action="store_true", help="only count what would be removed")
    gens = sub.add_parser("generations", help="list the generations of the projection tables, or drop a retired one")
    gens.add_argument("action", choices=("list", "drop"))
    gens.add_argument("number", nargs="?", type=int)
    key = sub.add_parser("keys", help="API keys: create (printed once), list, revoke")
    key.add_argument("action", choices=("create", "list", "revoke"))
    key.add_argument("key_id", nargs="?", help="revoke: the key id")
    key.add_argument("--tenant", help="create: the key's tenant; list: only this tenant's keys")
    key.add_argument("--role", choices=ROLES,
                     help="admin, editor, viewer (seed 001); producer: may only publish events (POST /api/v1/events)")
    key.add_argument("--name", help="what the key is for")
    key.add_argument("--rate", type=float, help="create: requests per second the key may make (default: "
                                                "P360_RATE_LIMIT_PER_KEY of the API; 0: no limit)")
    stat = sub.add_parser("status", help="per topic and partition: stored position, end offset, lag, last applied; dead "
                                         "letters, current generation, API and worker health")
    stat.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    kept = sub.add_parser("keep", help="run a profile360 command (worker, api) and start it again with backoff when it "
                                       "exits on its own (make run)")
    kept.add_argument("argv", nargs=argparse.REMAINDER, help="the command and its arguments, e.g. `worker`")
    demo = sub.add_parser("demo", help="publish the demo data set")
    demo.add_argument("--tenant", default="demo")
    ten = sub.add_parser("tenants", help="show or change a tenant's settings")
    ten.add_argument("action", choices=("show", "set"))
    ten.add_argument("tenant")
    ten.add_argument("--customer360", choices=("on", "off"), help="the Customer 360 module (seed 000 routes)")
    ten.add_argument("--link-threshold", type=float, help="confidence at or above which a link merges profiles (0-1]")
    ten.add_argument("--default-region", help="ISO country code for phones without one, or none")
    return p


def _devstack(settings: Settings, action: str, replica: bool = False) -> int:
    from profile360 import devstack

    port = int(settings.kafka_bootstrap.rsplit(":", 1)[1])
    pg_port = _port_of(settings.database_url)
    replica_port = (_port_of(settings.database_read_url) if settings.database_read_url else pg_port + 1) if replica else None
    if action == "up":
        print(json.dumps(devstack.up(settings.devstack_dir, kafka_port=port, controller_port=port + 1, pg_port=pg_port,
                                     replica_port=replica_port), indent=2))
    elif action == "down":
        devstack.down(settings.devstack_dir)
    else:
        print(json.dumps(devstack.status(settings.devstack_dir), indent=2, default=str))
    return 0


def _port_of(dsn: str) -> int:
    return int(dsn.rsplit(":", 1)[1].split("/")[0])


def _produce(settings: Settings, topic: str, path: str) -> int:
    from profile360.bootstrap import load_codec
    from profile360.cli.produce import produce

    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with stream:
        return asyncio.run(produce(settings, load_codec(), topic, stream))


def _server(args: argparse.Namespace, settings: Settings) -> int:
    """``worker`` or ``api``: one process, or a supervisor of several (``profile360.processes``)."""
    from profile360 import bootstrap, processes

    if args.parent_pid is not None:
        processes.die_with(args.parent_pid)
    count = settings.worker_processes if args.command == "worker" else settings.api_processes
    if count > 1 and args.command == "api":  # SO_REUSEPORT would let another server on this port share it
        processes.check_port_free(settings.api_host, settings.api_port)
        return processes.supervise("api", count, settings.to_env(), shared_metrics=processes.metrics_dir(settings.api_port))
    if count > 1:  # member i serves its metrics on the port + i (0: any free port)
        host, port = settings.metrics_host, settings.metrics_port
        return processes.supervise("worker", count, settings.to_env(),
                                   child_env=lambda i: {"P360_METRICS_BIND": f"{host}:{port + i if port else 0}"})
    if args.command == "worker":
        asyncio.run(bootstrap.run_worker(settings))
    else:  # one of several (started by a supervisor) shares the port
        asyncio.run(bootstrap.run_api(settings, reuse_port=args.parent_pid is not None))
    return 0


def run(argv: list[str], settings: Settings) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "processes", None) is not None:  # overrides P360_API_PROCESSES / P360_WORKER_PROCESSES
        settings = replace(settings, **{"api_processes" if args.command == "api" else "worker_processes": args.processes})
    from profile360 import bootstrap

    if args.command == "devstack":
        return _devstack(settings, args.action, args.replica)
    if args.command == "migrate":
        applied = asyncio.run(bootstrap.apply_migrations(settings))
        print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
        return 0
    if args.command in ("worker", "api"):
        return _server(args, settings)
    if args.command == "keep":
        from profile360.keeper import keep
        if not args.argv:
            raise ValueError("keep needs the command to keep running, e.g. `profile360 keep worker`")
        return keep(args.argv)
    if args.command == "dlq":
        from profile360.cli.dlq import dlq
        return asyncio.run(dlq(settings, args.action, args.reason, args.origin_topic, args.dry_run))
    if args.command == "tenants":
        from profile360.cli import tenants
        if args.action == "show":
            return asyncio.run(tenants.show(settings, args.tenant))
        return asyncio.run(tenants.set_(settings, args.tenant, args.customer360, args.link_threshold,
                                        args.default_region))
    if args.command == "keys":
        from profile360.cli.keys import keys
        return asyncio.run(keys(settings, args.action, args.tenant, args.role, args.name, args.key_id, args.rate))
    if args.command == "purge":
        from profile360.cli.rebuild import run_purge
        return asyncio.run(run_purge(settings, bootstrap.load_codec(), args.dry_run))
    if args.command in ("rebuild", "replay", "generations"):
        from profile360.cli import rebuild
        if args.command == "rebuild":
            return asyncio.run(rebuild.run_rebuild(settings, bootstrap.load_codec(), args.keep_old, not args.no_progress,
                                                   args.projection, args.allow_truncated))
        if args.command == "replay":
            return asyncio.run(rebuild.run_replay(settings, args.since))
        return asyncio.run(rebuild.run_generations(settings, args.action, args.number))
    if args.command == "status":
        from profile360.cli.status import run_status
        return asyncio.run(run_status(settings, args.json))
    if args.command == "demo":
        from profile360.cli.demo import publish_demo
        return asyncio.run(publish_demo(settings, args.tenant))
    return _produce(settings, args.topic, args.file)


def main() -> None:
    from profile360 import logs
    from profile360.store.migrations import SchemaMismatch
    from profile360.store.generations import RebuildConflict
    from profile360.worker.rebuild import RebuildInterrupted, TruncatedLog
    from profile360.worker.runner import PositionBeyondLog

    try:
        settings = Settings.from_env()
        logs.configure(log_format=settings.log_format)
        sys.exit(run(sys.argv[1:], settings))
    except ValueError as exc:  # bad settings or arguments, and InvalidEvent
        print(f"profile360: {exc}", file=sys.stderr)
        sys.exit(2)
    except (SchemaMismatch, PositionBeyondLog, TruncatedLog, RebuildConflict, RebuildInterrupted) as exc:
        print(f"profile360: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # a bug, or an error a process must not ride out: the trace, then one clear line
        logs.fatal(logging.getLogger("profile360"), exc)
        sys.exit(1)
