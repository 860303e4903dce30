"""Steps of the OAuth authorization code flow against the simulator's demo app, as a BFF would take them."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.simulator.helpers import PASSWORDS

APP = "bff-demo"
CLIENT_ID = "bff-demo-client"
SECRET = "bff-demo-secret-1"
REDIRECT = "http://127.0.0.1:8000/auth/oauth/callback"


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(response: httpx.Response) -> dict[str, str]:
    """The query of a 302's Location, one value per name."""
    assert response.status_code == 302, (response.status_code, response.text)
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_params(challenge: str, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "st-" + secrets.token_urlsafe(8),
        "nonce": "nn-" + secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return {k: v for k, v in params.items() if v is not None}


async def sign_in(
    client: httpx.AsyncClient, txn: str, user: str, password: str | None = None, app: str = APP
) -> httpx.Response:
    form = {"txn": txn, "username": user, "password": password or PASSWORDS[user], "action": "signin"}
    return await client.post(f"/OAuth2/SignIn/{app}", data=form)


async def mfa_code(client: httpx.AsyncClient, user: str, mechanism: str) -> str:
    path = f"/_sim/code/{user}" if mechanism in ("EMAIL", "SMS") else f"/_sim/totp/{user}"
    response = await client.get(path)
    assert response.status_code == 200
    code: str = response.json()["code"]
    return code


@dataclass
class Authorized:
    """What the callback would receive, plus what the client kept: the code, state, nonce and verifier."""

    code: str
    state: str
    nonce: str
    verifier: str


async def authorized(
    client: httpx.AsyncClient, user: str = "alice@example.com", scope: str = "openid profile"
) -> Authorized:
    """A sign-in at the tenant's page (password, then the MFA code if any) up to the callback's code.

    A client that already signed in once holds the tenant's SSO cookie and gets its code at once.
    """
    verifier, challenge = pkce()
    params = authorize_params(challenge, scope=scope)
    response = await client.get(f"/OAuth2/Authorize/{APP}", params=params)
    txn = response.headers.get("x-sim-txn", "")
    if response.status_code == 200:  # the sign-in page
        response = await sign_in(client, txn, user)
    if response.status_code == 200:  # the MFA page
        mechanism = response.text.split("data-mechanism='")[1].split("'")[0]
        code = await mfa_code(client, user, mechanism)
        response = await client.post(
            f"/OAuth2/SignIn/{APP}", data={"txn": txn, "code": code, "action": "verify"}
        )
    got = query_of(response)
    assert got["state"] == params["state"]
    return Authorized(got["code"], params["state"], params["nonce"], verifier)


def basic(client_id: str = CLIENT_ID, secret: str = SECRET) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def token(
    client: httpx.AsyncClient,
    data: dict[str, str],
    auth: str = "basic",
    secret: str = SECRET,
    app: str = APP,
) -> httpx.Response:
    """POST /OAuth2/Token with client_secret_basic (``auth="basic"``), _post (``"post"``) or none."""
    headers: dict[str, str] = {}
    if auth == "basic":
        headers = basic(secret=secret)
    elif auth == "post":
        data = {**data, "client_id": CLIENT_ID, "client_secret": secret}
    return await client.post(f"/OAuth2/Token/{app}", data=data, headers=headers)


async def exchange(client: httpx.AsyncClient, got: Authorized, auth: str = "basic") -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECT,
        "code_verifier": got.verifier,
    }
    return await token(client, data, auth=auth)


async def login_tokens(
    client: httpx.AsyncClient, user: str = "alice@example.com", **kw: Any
) -> dict[str, Any]:
    response = await exchange(client, await authorized(client, user, **kw))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await token(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})
