"""The console's and /docs' files (``api.pages``): served without a key from package data,
with their content types and revalidation headers; nothing else under their paths; and
``GET /api/v1/me``, which tells the console its key's tenant, role and what it may do."""
from __future__ import annotations

import pytest

from profile360.api.pages import CONSOLE, DOCS

from .api_auth import make_key
from .test_pipeline import api_client

pytestmark = pytest.mark.integration


async def test_every_file_is_served_with_its_type_and_revalidated_by_its_etag(settings):
    client = await api_client(settings)
    try:
        paths = ["/console", "/docs", *(f"/console/{n}" for n in CONSOLE), *(f"/docs/{n}" for n in DOCS)]
        for path in paths:
            resp = await client.get(path)  # no key: the pages carry no data
            assert resp.status == 200, path
            ext = path.rpartition(".")[2] if "." in path.rpartition("/")[2] else "html"
            assert resp.content_type == {"html": "text/html", "js": "text/javascript", "css": "text/css",
                                         "svg": "image/svg+xml", "png": "image/png"}[ext], path
            assert resp.headers["Cache-Control"] == "no-cache" and "script-src 'self'" in resp.headers["Content-Security-Policy"]
            again = await client.get(path, headers={"If-None-Match": resp.headers["ETag"]})
            assert again.status == 304 and not await again.read(), path
        for path in ("/console/nope.js", "/console/..%2Fpages.py", "/docs/swagger-editor-bundle.js", "/docs/index.css"):
            resp = await client.get(path)
            assert resp.status == 404 and (await resp.json())["error"]["field"] == "file", path
    finally:
        await client.close()


async def test_me_names_the_keys_tenant_and_role_and_what_it_may_do(settings):
    client = await api_client(settings)
    try:
        assert (await client.get("/api/v1/me")).status == 401
        expected = {"viewer": (False, False, False), "editor": (True, False, False), "admin": (True, True, True)}
        for role, (edit, read_dlq, redrive) in expected.items():
            key = await make_key(settings.database_url, "acme", role)
            resp = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
            body = await resp.json()
            assert (resp.status, body["tenantId"], body["role"], body["keyId"]) == (200, "acme", role, key.split("_")[1])
            assert body["can"] == {"editSegments": edit, "readDeadLetters": read_dlq, "redrive": redrive}
    finally:
        await client.close()
