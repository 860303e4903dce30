"""The proxy under CORS: a tenant's own Access-Control-* never reaches the browser, only the BFF's grant."""

from __future__ import annotations

from tests.proxy.conftest import client_for, seeded_cookie
from tests.proxy.upstream_app import UpstreamState
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory

SPA = "https://app.example.com"


async def test_a_tenants_cors_headers_give_way_to_the_bffs_grant(
    make_bff: BffFactory, redis_url: str, upstream: ServerThread, seen: UpstreamState
) -> None:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow="GET /headers", bff_allowed_origins=SPA)
    async with client_for(bff, await seeded_cookie(redis_url)) as client:
        listed = await client.get("/api/headers", headers={"Origin": SPA})
        unlisted = await client.get("/api/headers", headers={"Origin": "https://evil.example"})
    assert listed.status_code == 200, listed.text
    # The tenant sent "Access-Control-Allow-Origin: *": only the BFF's exact origin arrives.
    assert listed.headers.get_list("access-control-allow-origin") == [SPA]
    assert listed.headers["access-control-allow-credentials"] == "true"
    assert unlisted.status_code == 403 and unlisted.json()["error"] == "origin"
    assert not [k for k in unlisted.headers if k.lower().startswith("access-control-")]
