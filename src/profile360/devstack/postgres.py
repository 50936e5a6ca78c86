"""A private PostgreSQL cluster for development and tests (no Docker, never the system cluster).

Layout of ``data_dir`` (owned by this module; chowned to ``postgres`` when running as root):

* ``pgdata/``        - the cluster (initdb'd once; ``devstack.conf`` rewritten on each start)
* ``run/``           - unix socket directory
* ``postgres.log``   - server log

initdb/postgres refuse to run as root, so as root every server command runs as the
``postgres`` system user via ``runuser`` (the user is created if missing), and each
ancestor directory of ``data_dir`` gets the search (o+x) bit if that user cannot traverse it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

DATABASE = "profile360"
SUPERUSER = "postgres"
_OS_USER = "postgres"


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)


def pg_bindir() -> Path:
    """Directory holding initdb/pg_ctl/postgres: the newest ``/usr/lib/postgresql/*/bin``,
    else ``pg_config --bindir``. Raises FileNotFoundError if neither has ``initdb``."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists():
            return bindir
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(out.stdout.strip())
        if out.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    raise FileNotFoundError("PostgreSQL server binaries (initdb) not found")


def ensure_postgres() -> Path:
    """Return ``pg_bindir()``, installing the Debian ``postgresql`` package first if needed
    (apt-get; needs root). Raises RuntimeError if the install fails."""
    try:
        return pg_bindir()
    except FileNotFoundError:
        pass
    print("devstack: installing PostgreSQL server (apt-get) ...", file=sys.stderr)
    apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    for cmd in (apt + ["update"], apt + ["install", "-y", "--no-install-recommends", "postgresql"]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return pg_bindir()


def _as_root() -> bool:
    return os.geteuid() == 0


def _ensure_os_user() -> None:
    """Create the ``postgres`` system user if it does not exist (root only)."""
    try:
        pwd.getpwnam(_OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", _OS_USER], check=True)


def _grant_traverse(path: Path) -> None:
    """Give others the search bit on each ancestor of ``path`` lacking it (root only)."""
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            print(f"devstack: chmod o+x {parent} (so user {_OS_USER} can reach {path})", file=sys.stderr)
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _prepare_dir(data_dir: Path) -> None:
    """Create ``data_dir`` and, as root, hand it to the ``postgres`` user."""
    (data_dir / "run").mkdir(parents=True, exist_ok=True)
    if not _as_root():
        return
    _ensure_os_user()
    _grant_traverse(data_dir)
    user = pwd.getpwnam(_OS_USER)
    for root, dirs, files in os.walk(data_dir):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, user.pw_uid, user.pw_gid)


def _run(cmd: list[str], data_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a server-side command (as ``postgres`` when we are root) with cwd=data_dir."""
    if _as_root():
        cmd = ["runuser", "-u", _OS_USER, "--", *cmd]
    proc = subprocess.run(cmd, cwd=data_dir, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def _initdb(bindir: Path, data_dir: Path) -> None:
    """initdb ``data_dir/pgdata`` once (UTF8, trust auth, superuser postgres). Collation C (byte
    order: fast, and the same everywhere); character classes C.UTF-8, so the trigram index of
    seed 003's search sees letters of every script, not ASCII alone (``docs/api.md``)."""
    pgdata = data_dir / "pgdata"
    if (pgdata / "PG_VERSION").exists():
        return
    _run([str(bindir / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "-E", "UTF8",
          "--locale=C", "--lc-ctype=C.UTF-8", "--auth-local=trust", "--auth-host=trust"], data_dir)
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write("\ninclude_if_exists = 'devstack.conf'\n")


def _write_conf(data_dir: Path, port: int, fsync: bool) -> None:
    """(Re)write ``pgdata/devstack.conf`` with listen address, port, socket dir and tuning."""
    lines = [
        "listen_addresses = '127.0.0.1'",
        f"port = {port}",
        f"unix_socket_directories = '{data_dir / 'run'}'",
        "max_connections = 200",
        # a write-heavy projection store on a 24 GiB machine: room for the hot indexes and
        # fewer, larger checkpoints (the defaults are sized for a 1990s box)
        "shared_buffers = 1GB",
        "max_wal_size = 4GB",
        "checkpoint_timeout = 15min",
        "wal_buffers = 64MB",
    ]
    if not fsync:
        lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    conf = data_dir / "pgdata" / "devstack.conf"
    conf.write_text("\n".join(lines) + "\n")
    if _as_root():
        user = pwd.getpwnam(_OS_USER)
        os.chown(conf, user.pw_uid, user.pw_gid)


def _pg_ctl(bindir: Path, data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run([str(bindir / "pg_ctl"), "-D", str(data_dir / "pgdata"), *args], data_dir, check)


def postgres_running(data_dir: Path) -> bool:
    """True if the cluster in ``data_dir`` has a live postmaster (``pg_ctl status``)."""
    data_dir = Path(data_dir).resolve()
    if not (data_dir / "pgdata" / "PG_VERSION").exists():
        return False
    return _pg_ctl(pg_bindir(), data_dir, "status", check=False).returncode == 0


def postgres_dsn(data_dir: Path) -> str | None:
    """DSN of the running cluster (port read from ``postmaster.pid``), or None if not running."""
    data_dir = Path(data_dir).resolve()
    if not postgres_running(data_dir):
        return None
    lines = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()
    return f"postgresql://{SUPERUSER}@127.0.0.1:{int(lines[3])}/{DATABASE}"


def _create_database(bindir: Path, dsn: str) -> None:
    """Create database ``profile360`` if it does not exist (connects over TCP)."""
    admin = dsn.rsplit("/", 1)[0] + "/postgres"
    query = f"select 1 from pg_database where datname = '{DATABASE}'"
    out = subprocess.run([str(bindir / "psql"), admin, "-XtAc", query], capture_output=True, text=True, check=True)
    if out.stdout.strip() != "1":
        subprocess.run([str(bindir / "psql"), admin, "-Xqc", f'create database "{DATABASE}"'],
                       capture_output=True, text=True, check=True)


def start_postgres(data_dir: Path, port: int, *, fsync: bool = True) -> str:
    """Start (initdb'ing first if needed) a cluster on 127.0.0.1:``port``; return its DSN
    ``postgresql://postgres@127.0.0.1:<port>/profile360``. The database is created if missing.

    Idempotent: if already running, returns the DSN of the running server (its actual port).
    ``fsync=False`` trades durability for speed (tests only). Blocks until accepting connections.
    """
    data_dir = Path(data_dir).resolve()
    bindir = ensure_postgres()
    if (dsn := postgres_dsn(data_dir)) is None:
        _prepare_dir(data_dir)
        _initdb(bindir, data_dir)
        _write_conf(data_dir, port, fsync)
        _pg_ctl(bindir, data_dir, "start", "-w", "-t", "60", "-l", str(data_dir / "postgres.log"))
        dsn = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    _create_database(bindir, dsn)
    return dsn


def stop_postgres(data_dir: Path) -> bool:
    """Fast-shutdown the cluster in ``data_dir`` (waits); return whether it was running."""
    data_dir = Path(data_dir).resolve()
    if not postgres_running(data_dir):
        return False
    _pg_ctl(pg_bindir(), data_dir, "stop", "-m", "fast", "-w", "-t", "60")
    return True


def restart_postgres(data_dir: Path) -> str:
    """Fast-restart the running (or stopped but initialised) cluster, keeping its settings;
    return its DSN. Meant for fault-injection tests (clients see their connections dropped)."""
    data_dir = Path(data_dir).resolve()
    _pg_ctl(pg_bindir(), data_dir, "restart", "-m", "fast", "-w", "-t", "60",
            "-l", str(data_dir / "postgres.log"))
    dsn = postgres_dsn(data_dir)
    if dsn is None:
        raise RuntimeError(f"postgres in {data_dir} did not come back after restart")
    return dsn
