"""Every example in ``docs/`` runs as written against ``make run``'s demo data and answers as
the docs say (the conventions: ``doc_examples.py``). Only the API's address and the key
(``$KEY``, the demo tenant's admin key) are the test's own. ``P360_DOCS_ANSWERS=FILE`` writes
every answer to FILE, for writing a new example's answer."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import orjson
import pytest

from profile360.cli.demo import publish_demo

from . import doc_examples
from .api_auth import make_key
from .harness import InProcessWorker, wait_caught_up
from .test_pipeline import api_client

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[2] / "docs"
DOCUMENTED_API = "http://127.0.0.1:8080"
#: ``curl`` also prints the status on a last line; ``profile360`` is this checkout's
PREAMBLE = """curl() { command curl -w '\\n%{http_code}' "$@"; }
profile360() { "$P360_PYTHON" -m profile360 "$@"; }
"""


async def run(command: str, env: dict[str, str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of one documented command, run by bash."""
    proc = await asyncio.create_subprocess_exec("bash", "-c", PREAMBLE + command, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


def answer_of(command: str, stdout: str) -> tuple[int | None, object]:
    """(HTTP status or None, parsed answer) of a command's output."""
    status = None
    if command.startswith("curl"):
        stdout, _, code = stdout.rpartition("\n")
        status = int(code)
    try:
        return status, orjson.loads(stdout) if stdout.strip() else None
    except orjson.JSONDecodeError:
        return status, stdout


def judge(example: doc_examples.Example, last: bool, status: int | None, answer: object) -> list[str]:
    """What is wrong with one command's answer (an answer is documented for the last only)."""
    documented = example.answer if last else None
    wanted = doc_examples.expected_status(documented)
    if status is not None and (status != wanted if wanted else not 200 <= status < 300):
        return [f"status {status}, documented {wanted or '2xx'}: {str(answer)[:300]}"]
    return doc_examples.mismatches(documented, answer) if documented is not None else []


async def check(example: doc_examples.Example, env: dict[str, str], api: str, settings) -> list[str]:
    faults = []
    for i, command in enumerate(example.commands):
        code, out, err = await run(command.replace(DOCUMENTED_API, api), env)
        if code != 0:
            faults.append(f"{example.where}: `{command[:80]}` exited {code}: {err[-500:]}")
            continue
        status, answer = answer_of(command, out)
        if os.environ.get("P360_DOCS_ANSWERS"):  # to write a doc's answers: every answer, to this file
            with open(os.environ["P360_DOCS_ANSWERS"], "ab") as dump:
                dump.write(orjson.dumps({"where": example.where, "status": status, "answer": answer}) + b"\n")
        faults += [f"{example.where}: `{command[:80]}`: {m}"
                   for m in judge(example, i == len(example.commands) - 1, status, answer)]
        await wait_caught_up(settings, timeout=60)  # what a command published is applied before the next
    return faults


async def test_every_example_in_docs_runs_as_written_on_the_demo_data(settings):
    found, stray = doc_examples.examples(DOCS)
    assert stray == [], "json blocks that are neither the answer of an example nor marked illustrative"
    assert len(found) >= 10 and all(e.commands for e in found)
    client = await api_client(settings)
    env = {**os.environ, **settings.to_env(), "P360_PYTHON": sys.executable,
           "KEY": await make_key(settings.database_url, "demo", "admin")}
    try:
        async with InProcessWorker(settings):
            assert await publish_demo(settings, "demo", wait=60) == 0
            faults = [f for example in found
                      for f in await check(example, env, f"http://127.0.0.1:{client.server.port}", settings)]
    finally:
        await client.close()
    assert faults == [], "\n".join(faults)
