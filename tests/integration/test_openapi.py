"""The API description: complete (every route of the app), valid OpenAPI 3.1, and true of the
running service under property-based fuzzing (schemathesis): no 500, no status code, content
type or body outside what the description declares."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys

import pytest

from profile360.api.auth import PUBLIC
from profile360.api.openapi import PATHS, document
from profile360.cli.demo import publish_demo
from profile360.cli.wait_http import wait
from profile360.devstack import free_port

from .api_auth import make_key
from .harness import InProcessWorker, env_for
from .test_access import routes_of
from .test_pipeline import api_client

pytestmark = pytest.mark.integration


async def test_every_route_is_described_and_served(settings):
    client = await api_client(settings)
    try:
        described = {(method.upper(), path) for path, ops in PATHS.items() for method in ops}
        assert {(m, p) for m, p in described if p not in PUBLIC} == routes_of(client.server.app)
        assert ("GET", "/metrics") in described
        served = await (await client.get("/openapi.json")).json()
        assert served == document() and served["openapi"] == "3.1.0"
        page = await client.get("/docs")  # Swagger UI on /openapi.json (the browser test runs it: test_console)
        assert page.status == 200 and "/docs/swagger-ui-bundle.js" in await page.text()
    finally:
        await client.close()


async def test_fuzzing_the_running_service_finds_no_error_and_no_broken_promise(settings, tmp_path):
    async with InProcessWorker(settings):
        assert await publish_demo(settings, "fuzz", wait=60) == 0
    key = await make_key(settings.database_url, "fuzz", "admin")
    port = free_port()
    env = {**env_for(settings), "API_BIND": f"127.0.0.1:{port}", "P360_COMMAND_WAIT_MS": "200"}
    api = subprocess.Popen([sys.executable, "-m", "profile360", "api"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert await asyncio.to_thread(wait, f"http://127.0.0.1:{port}/healthz", 30), api.stderr
        st = shutil.which("schemathesis") or shutil.which("st")
        assert st, "schemathesis is a test dependency"
        run = await asyncio.to_thread(subprocess.run, [
            st, "run", f"http://127.0.0.1:{port}/openapi.json", "-H", f"Authorization: Bearer {key}",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                        "response_schema_conformance,negative_data_rejection,unsupported_method",
            "--max-examples", os.environ.get("P360_FUZZ_EXAMPLES", "30"), "--seed", "360",
            "--request-timeout", "10"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    finally:
        api.terminate()
        api.wait(20)
