"""The web pages: the console at ``/console`` and Swagger UI at ``/docs``.

Both are static files read from package data with ``importlib.resources`` (the console's from
``profile360.web``, Swagger UI's assets from the ``swagger_ui`` package of swagger-ui-py), so
they work offline and need no build step. They carry no data and need no key (``auth.PUBLIC``):
the pages call the API's data routes with the key the user signs in with.

Every file is answered with its content type, a strong ``ETag`` and ``Cache-Control:
no-cache`` (the browser revalidates and gets a 304 while the file is unchanged, so a new
release is picked up at once), ``X-Content-Type-Options: nosniff``, and a Content Security
Policy allowing scripts, styles and requests of this origin only. Only the files named in
``CONSOLE`` and ``DOCS`` are served; any other name is a 404.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from aiohttp import web

from profile360.api import etags
from profile360.api.errors import ApiError, Handler

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
_WEB, _SWAGGER_UI = ("profile360.web", ""), ("swagger_ui", "static")
#: what ``/console/{file}`` serves: the console's page, style and one ES module per concept
CONSOLE = {name: _WEB for name in ("console.html", "console.css", "favicon.svg", "main.js", "api.js", "session.js",
                                   "dom.js", "chart.js", "graph.js", "overview.js", "profile.js", "segments.js", "deadletters.js")}
#: what ``/docs/{file}`` serves: swagger-ui-py's copy of Swagger UI and the few lines that start it
DOCS = {"docs.html": _WEB, "docs.js": _WEB, "docs.css": _WEB, "favicon.svg": _WEB,
        "swagger-ui-bundle.js": _SWAGGER_UI, "swagger-ui.css": _SWAGGER_UI}
# Swagger UI renders its icons as data: images and sets style attributes
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    tag: str


@cache
def _asset(package: str, folder: str, name: str) -> Asset:
    root = resources.files(package)
    data = (root / folder / name if folder else root / name).read_bytes()
    return Asset(data, TYPES[name[name.rfind("."):]], etags.make(data).removeprefix("W/"))


def _answer(request: web.Request, asset: Asset) -> web.Response:
    headers = {"ETag": asset.tag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": _CSP, "Referrer-Policy": "no-referrer"}
    if etags.matches(request, asset.tag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "Content-Type": asset.content_type})


def _serve(files: dict[str, tuple[str, str]], page: str | None = None) -> Handler:
    """A handler answering ``page``, or the file the route's ``{file}`` names among ``files``."""

    async def handler(request: web.Request) -> web.Response:
        name = page or request.match_info["file"]
        if name not in files:
            raise ApiError(404, "not_found", f"no file {name!r} here", "file")
        return _answer(request, _asset(*files[name], name))

    return handler


console_page = _serve(CONSOLE, "console.html")
console_file = _serve(CONSOLE)
#: Swagger UI on ``/openapi.json``: "Authorize" takes an API key (the bearer scheme the
#: description declares), "Try it out" calls this service
docs_page = _serve(DOCS, "docs.html")
docs_file = _serve(DOCS)
