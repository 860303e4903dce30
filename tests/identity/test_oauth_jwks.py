"""The OAuth app's JWKS as the BFF keeps it: re-fetched per the tenant's Cache-Control (at most hourly), and
on an unknown kid at most once a minute, so a key the tenant withdrew stops validating. Against the
simulator's demo app over real HTTP; the cache's clock is the test's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.errors import TenantProtocolError
from app.identity.client import TenantClient
from app.identity.oauth import JWKS_MAX_AGE, JWKS_UNKNOWN_KID_INTERVAL, OAuthClient
from simulator.app import create_app
from tests.simulator.oauth_helpers import APP, CLIENT_ID, SECRET, login_tokens
from tests.support.asgi_server import ServerThread

KEYS = f"/OAuth2/Keys/{APP}"


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def oauth_sim() -> Iterator[ServerThread]:
    with ServerThread(create_app()) as server:  # the example users file: the demo OAuth app
        yield server


@pytest.fixture
async def http(oauth_sim: ServerThread) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=oauth_sim.url, timeout=10) as client:
        assert (await client.post("/_sim/reset")).status_code == 200
        yield client


@pytest.fixture
async def tenant(oauth_sim: ServerThread) -> AsyncIterator[TenantClient]:
    client = TenantClient(oauth_sim.url, timeout=5.0)
    yield client
    await client.aclose()


def oauth_client(tenant: TenantClient, clock: Ticking) -> OAuthClient:
    return OAuthClient(tenant, app_id=APP, client_id=CLIENT_ID, client_secret=SECRET, monotonic=clock)


async def serve_jwks_with(http: httpx.AsyncClient, cache_control: str) -> None:
    answer = await http.post(f"/_sim/oauth/apps/{APP}", json={"jwks_cache_control": cache_control})
    assert answer.status_code == 200, answer.text


async def jwks_fetches(http: httpx.AsyncClient) -> int:
    return sum(1 for call in (await http.get("/_sim/calls")).json() if call["path"] == KEYS)


async def id_token(http: httpx.AsyncClient) -> str:
    token: str = (await login_tokens(http))["id_token"]
    return token


async def test_a_key_the_tenant_withdrew_stops_validating_within_an_hour(
    http: httpx.AsyncClient, tenant: TenantClient
) -> None:
    clock = Ticking()
    oauth = oauth_client(tenant, clock)
    signed_by_old_key = await id_token(http)
    assert (await oauth.id_token_claims(signed_by_old_key, nonce=None))["sub"]
    withdrawn = await http.post(f"/_sim/oauth/{APP}/keys/rotate", json={"keep_old": False})
    assert len(withdrawn.json()["kids"]) == 1  # only the new key is published now
    clock.now += JWKS_MAX_AGE - 1
    assert (await oauth.id_token_claims(signed_by_old_key, nonce=None))["sub"]  # cached, as allowed
    clock.now += 2
    with pytest.raises(TenantProtocolError):
        await oauth.id_token_claims(signed_by_old_key, nonce=None)
    # Tokens of the new key validate (its kid is in the set just fetched).
    assert (await oauth.id_token_claims(await id_token(http), nonce=None))["sub"]


async def test_the_jwks_is_fetched_again_when_its_cache_control_says(
    http: httpx.AsyncClient, tenant: TenantClient
) -> None:
    await serve_jwks_with(http, "public, max-age=120")
    clock = Ticking()
    oauth = oauth_client(tenant, clock)
    token = await id_token(http)
    await oauth.id_token_claims(token, nonce=None)
    clock.now += 119
    await oauth.id_token_claims(token, nonce=None)
    assert await jwks_fetches(http) == 1
    clock.now += 2
    await oauth.id_token_claims(token, nonce=None)
    assert await jwks_fetches(http) == 2
    # A longer max-age is cut to the hour; no-store keeps the set for no token at all.
    await serve_jwks_with(http, "max-age=86400")
    clock.now += 200
    await oauth.id_token_claims(token, nonce=None)
    assert await jwks_fetches(http) == 3
    clock.now += JWKS_MAX_AGE + 1
    await oauth.id_token_claims(token, nonce=None)
    assert await jwks_fetches(http) == 4
    await serve_jwks_with(http, "no-store")
    clock.now += JWKS_MAX_AGE + 1
    await oauth.id_token_claims(token, nonce=None)
    await oauth.id_token_claims(token, nonce=None)
    assert await jwks_fetches(http) == 6


async def test_an_unknown_kid_fetches_the_jwks_at_most_once_a_minute(
    http: httpx.AsyncClient, tenant: TenantClient
) -> None:
    clock = Ticking()
    oauth = oauth_client(tenant, clock)
    await oauth.id_token_claims(await id_token(http), nonce=None)
    assert await jwks_fetches(http) == 1
    await http.post(f"/_sim/oauth/{APP}/tamper", json={"id_token": "unknown_kid", "times": 6})
    made_up = [await id_token(http) for _ in range(6)]
    for token in made_up[:5]:
        with pytest.raises(TenantProtocolError):
            await oauth.id_token_claims(token, nonce=None)
    assert await jwks_fetches(http) == 2  # the first unknown kid looked again; the next four did not
    clock.now += JWKS_UNKNOWN_KID_INTERVAL + 1
    with pytest.raises(TenantProtocolError):
        await oauth.id_token_claims(made_up[5], nonce=None)
    assert await jwks_fetches(http) == 3
