"""A streaming replica of the dev stack's PostgreSQL cluster (``devstack up --replica``), made
the way a production one is: ``pg_basebackup -R`` copies the running primary and writes the
standby settings (``standby.signal``, ``primary_conninfo``), then the copy starts as a hot
standby that replays the primary's WAL as it streams in.

Layout of ``data_dir`` is that of ``postgres.py`` (``pgdata/``, ``run/``, ``postgres.log``).
The primary needs nothing extra: ``wal_level = replica`` and ``max_wal_senders`` are
PostgreSQL's defaults, and initdb's ``pg_hba.conf`` admits replication from 127.0.0.1. No
replication slot is made (a slot left behind by a deleted replica would keep WAL forever): a
replica stopped while the primary wrote more than ``max_wal_size`` cannot catch up; delete its
directory and start it again.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from profile360.devstack import postgres as pg

#: queries on a standby are cancelled when replay must remove rows they still see, unless the
#: standby tells the primary what it reads (the primary then keeps those rows a little longer)
STANDBY_SETTINGS = ("hot_standby = on", "hot_standby_feedback = on")


def start_replica(data_dir: Path, primary_dsn: str, port: int, *, fsync: bool = True) -> str:
    """Start (base-backing up ``primary_dsn``'s cluster first if ``data_dir`` holds none) a
    streaming replica on 127.0.0.1:``port``; return its DSN (database ``profile360``).

    Idempotent: a running replica is left alone and its DSN returned. Blocks until the
    replica accepts connections (a hot standby does once it reached a consistent state)."""
    data_dir = Path(data_dir).resolve()
    bindir = pg.ensure_postgres()
    if (dsn := pg.postgres_dsn(data_dir)) is not None:
        return dsn
    pg._prepare_dir(data_dir)
    if not (data_dir / "pgdata" / "PG_VERSION").exists():
        primary = urlsplit(primary_dsn)
        pg._run([str(bindir / "pg_basebackup"), "-D", str(data_dir / "pgdata"), "-R", "-X", "stream", "-c", "fast",
                 "-h", primary.hostname or "127.0.0.1", "-p", str(primary.port or 5432),
                 "-U", primary.username or pg.SUPERUSER], data_dir)
    pg._write_conf(data_dir, port, fsync)  # replaces the primary's copy (its port and socket)
    with (data_dir / "pgdata" / "devstack.conf").open("a") as conf:
        conf.write("\n".join(STANDBY_SETTINGS) + "\n")
    pg._pg_ctl(bindir, data_dir, "start", "-w", "-t", "120", "-l", str(data_dir / "postgres.log"))
    return f"postgresql://{pg.SUPERUSER}@127.0.0.1:{port}/{pg.DATABASE}"


def stop_replica(data_dir: Path) -> bool:
    """Fast-shutdown the replica in ``data_dir``; return whether it was running."""
    return pg.stop_postgres(data_dir)
