"""The API's own documentation, as a client generator and an offline municipal network need it
(issue 18): a bearer security scheme on every route that takes a token, and Swagger UI and ReDoc
served from the package's files, never a CDN."""

from __future__ import annotations

import re
from pathlib import Path

from fordra.kernel.auth import Role
from tests.utils.platform import running_platform


async def test_every_route_that_takes_a_token_declares_the_bearer_scheme(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path) as fordra:
        document = (await fordra.client.get("/openapi.json")).json()
        scheme = document["components"]["securitySchemes"]["bearer"]
        assert scheme["type"] == "http"
        assert scheme["scheme"] == "bearer"
        assert scheme["bearerFormat"] == "JWT"

        open_routes = {("get", "/healthz")}
        operations = [
            (method, path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()
        ]
        assert len(operations) > 60
        for method, path, operation in operations:
            if (method, path) in open_routes or path.startswith("/api/v1/agency/webhooks"):
                continue
            assert operation.get("security") == [{"bearer": []}], (method, path)

        # And what the scheme says is what the routes do: the token in the header is enough.
        ops = fordra.auth(Role.OPS_LEAD)
        assert (await fordra.client.get("/metrics")).status_code == 401
        assert (await fordra.client.get("/metrics", headers=ops)).status_code == 200


async def test_swagger_ui_and_redoc_load_nothing_from_outside(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path) as fordra:
        for page in ("/docs", "/redoc"):
            html = (await fordra.client.get(page)).text
            sources = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert sources, page
            # Every script, style sheet and icon the page loads is ours.
            assert all(s.startswith("/") for s in sources), (page, sources)
            for source in sources:
                r = await fordra.client.get(source)
                assert r.status_code == 200, source
                assert len(r.content) > 1000 or source.endswith(".png"), source
            assert "cdn" not in html.lower()
            assert "fonts.googleapis" not in html
