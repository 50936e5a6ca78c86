"""The wheel works outside the checkout: built with ``python -m build`` (sdist, then the wheel
from the sdist), installed with its dependencies into a fresh virtual environment (no system
site-packages, no ``PYTHONPATH``), and run from a directory outside the checkout:
``profile360 --help``, ``migrate`` on an empty database, and one produce → worker → API round
trip on the session's broker and database.

The venv is made ``--without-pip`` and filled by this interpreter's pip (``pip --python``):
the same fresh environment, without the seconds ``ensurepip`` costs. ``--no-compile`` skips
byte-compiling the dependencies (phonenumbers alone has thousands of modules)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import asyncpg
import orjson
import pytest

from profile360.resources import projections_dir
from profile360.store.migrations import load_migrations
from profile360.worker.progress import wait_caught_up

from .harness import serving, start_api_process, start_worker_process, stop_process, worker_log

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    venv: Path
    cwd: str  # a directory outside the checkout, where the commands run

    @property
    def command(self) -> tuple[str, ...]:
        return (str(self.venv / "bin" / "profile360"),)

    def env(self, settings) -> dict[str, str]:
        """Only what a user's shell would have, and the settings: nothing of the checkout."""
        return {"PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
                "PYTHONNOUSERSITE": "1", "LANG": "C.UTF-8", **settings.to_env()}

    def run(self, settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *args], input=stdin, capture_output=True, text=True, timeout=120,
                              cwd=self.cwd, env=self.env(settings))


def _run(*argv: str) -> None:
    """``argv`` without ``PYTHONPATH`` (the tests may run with a checkout's ``src/`` on it):
    nothing of the checkout may leak into the build or the venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


#: what the build reads: the files compose/Dockerfile copies into its build stage
SOURCES = ("pyproject.toml", "setup.py", "README.md", "schemas", "projections", "src")


def _sources(to: Path) -> Path:
    """A clean copy of the build's inputs: setuptools reuses a checkout's ``build/`` folder, so a
    module deleted since the last build would still be packed; and nothing is left in the checkout."""
    to.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, to / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, to)
    return to


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """The wheel, built from this checkout and installed in a fresh venv (once per module)."""
    base = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "build", "--outdir", str(base / "dist"), str(_sources(base / "src")))
    wheel, = (base / "dist").glob("profile360-*.whl")
    _run(sys.executable, "-m", "venv", "--without-pip", str(base / "venv"))
    _run(sys.executable, "-m", "pip", "--python", str(base / "venv" / "bin" / "python"), "install", "-q", "--no-compile",
         "--disable-pip-version-check", str(wheel))
    return Installed(base / "venv", str(tmp_path_factory.mktemp("elsewhere")))


def test_the_installed_package_reads_its_own_data_not_the_checkouts(installed, settings):
    where = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                            "from profile360 import resources as r, settings as s;"
                            "print(r.schemas_dir(), r.projections_dir(), r.checkout_root(), s.Settings().devstack_dir)"],
                           capture_output=True, text=True, cwd=installed.cwd, env=installed.env(settings), timeout=60)
    assert where.returncode == 0, where.stderr
    schemas, sql, checkout, devstack = where.stdout.split()
    assert schemas.startswith(str(installed.venv)) and schemas.endswith("profile360/_schemas")
    assert sql.startswith(str(installed.venv)) and sql.endswith("profile360/_sql")
    assert checkout == "None"
    assert devstack == str(Path(installed.cwd, ".devstack"))


async def test_help_migrate_and_a_round_trip_from_the_wheel(installed, settings):
    settings = await _empty_database(settings)
    helped = installed.run(settings, "--help")
    assert helped.returncode == 0 and "migrate" in helped.stdout, helped.stderr
    migrated = installed.run(settings, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == f"applied: {', '.join(m.name for m in load_migrations(projections_dir()))}"
    events = [{"eventId": f"wheel-{i}", "tenantId": "acme", "occurredAt": "2026-03-15T10:30:00Z", "customerId": "c1",
               "type": "click"} for i in range(3)]
    produced = installed.run(settings, "produce", "--topic", "interactions", "-",
                             stdin="\n".join(orjson.dumps(e).decode() for e in events))
    assert produced.returncode == 0, produced.stderr
    key = installed.run(settings, "keys", "create", "--tenant", "acme", "--role", "viewer")
    assert key.returncode == 0, key.stderr
    assert sorted(await _served(installed, settings, key.stdout.strip())) == sorted(e["eventId"] for e in events)


async def _served(installed: Installed, settings, key: str) -> list[str]:
    """Run the venv's worker until the events are applied, then ask the venv's API for them."""
    worker = start_worker_process(settings, command=installed.command, env=installed.env(settings), cwd=installed.cwd)
    try:
        await wait_caught_up(settings, timeout=60)
    finally:
        assert stop_process(worker) == 0, worker_log(worker)
    api = start_api_process(settings, command=installed.command, base_env=installed.env(settings), cwd=installed.cwd,
                            P360_API_PROCESSES="1")
    try:
        await serving(api, 1)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
            async with session.get(f"{api.base_url}/api/v1/interaction-history", params={"customerId": "c1"}) as resp:
                assert resp.status == 200, await resp.text()
                return [item["id"] for item in (await resp.json())["data"]]
    finally:
        assert stop_process(api) == 0, worker_log(api)


async def _empty_database(settings):
    """``settings`` on a new, empty database of the same server (``migrate`` must create it all)."""
    base, _, name = settings.database_url.rpartition("/")
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}_wheel"')
    finally:
        await conn.close()
    return replace(settings, database_url=f"{base}/{name}_wheel")
