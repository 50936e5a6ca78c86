"""Which paths need no key (``auth.is_public``): the listed ones and what lies under them."""
from profile360.api.auth import is_public


def test_public_paths_are_the_listed_ones_and_what_lies_under_them():
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/docs/swagger-ui.css", "/console", "/console/",
                 "/console/main.js", "/console/{file}"):
        assert is_public(path), path
    for path in ("/", "", "/consoles", "/console.js", "/docsx/a", "/api/v1/me", "/api/v1/console",
                 "/{locale}/api/customer360", "/en/console"):
        assert not is_public(path), path
