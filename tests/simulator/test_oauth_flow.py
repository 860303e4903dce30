"""The OAuth2 Client app's authorization code flow: authorize, the sign-in page, codes, PKCE, client auth."""

from __future__ import annotations

import base64

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.simulator.oauth_helpers import (
    APP,
    CLIENT_ID,
    REDIRECT,
    SECRET,
    authorize_params,
    authorized,
    basic,
    exchange,
    mfa_code,
    pkce,
    query_of,
    sign_in,
    token,
)
from tests.support.asgi_server import ServerThread


async def _page(client: httpx.AsyncClient, **overrides: str | None) -> httpx.Response:
    _, challenge = pkce()
    return await client.get(f"/OAuth2/Authorize/{APP}", params=authorize_params(challenge, **overrides))


async def test_whole_flow_with_pkce_gives_tokens_and_a_valid_id_token(
    client: httpx.AsyncClient, sim: ServerThread
) -> None:
    got = await authorized(client, "alice@example.com")
    response = await exchange(client, got)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token", "id_token", "scope"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and body["scope"] == "openid profile"
    jwks = (await client.get(f"/OAuth2/Keys/{APP}")).json()
    decoded = jwt.decode(body["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256" and decoded.header["kid"] == jwks["keys"][0]["kid"]
    claims = decoded.claims
    assert claims["iss"] == f"{sim.url}/{APP}/"
    assert claims["aud"] == CLIENT_ID and claims["nonce"] == got.nonce
    assert claims["preferred_username"] == claims["unique_name"] == "alice@example.com"
    assert claims["name"] == "Alice Password" and claims["email"] == "alice@example.com"
    assert claims["exp"] - claims["iat"] == 300 and claims["sub"]


async def test_sign_in_with_an_email_code(client: httpx.AsyncClient, sim: object) -> None:
    page = await _page(client)
    txn = page.headers["x-sim-txn"]
    mfa = await sign_in(client, txn, "email@example.com")
    assert mfa.status_code == 200 and "data-mechanism='EMAIL'" in mfa.text and "e***@example.com" in mfa.text
    wrong = await client.post(f"/OAuth2/SignIn/{APP}", data={"txn": txn, "code": "000000x"})
    assert wrong.status_code == 200 and "has failed" in wrong.text
    code = await mfa_code(client, "email@example.com", "EMAIL")
    done = await client.post(f"/OAuth2/SignIn/{APP}", data={"txn": txn, "code": code, "action": "verify"})
    assert "code" in query_of(done)


async def test_sign_in_with_a_totp_code_for_the_push_user(client: httpx.AsyncClient, sim: object) -> None:
    got = await authorized(client, "demo@example.com")  # UP, then OTP answered with the app's TOTP
    assert (await exchange(client, got)).status_code == 200


async def test_wrong_password_shows_the_page_again_without_a_code(
    client: httpx.AsyncClient, sim: object
) -> None:
    page = await _page(client)
    response = await sign_in(client, page.headers["x-sim-txn"], "alice@example.com", "nope")
    assert response.status_code == 200 and "has failed" in response.text
    unknown = await sign_in(client, page.headers["x-sim-txn"], "nobody@example.com", "nope")
    assert unknown.text.count("has failed") == 1
    good = await sign_in(client, page.headers["x-sim-txn"], "alice@example.com")
    assert "code" in query_of(good)


async def test_federated_user_cannot_sign_in_with_an_empty_password(
    client: httpx.AsyncClient, sim: object
) -> None:
    page = await _page(client)
    response = await sign_in(client, page.headers["x-sim-txn"], "fed@partner.example", "x")
    assert response.status_code == 200 and "has failed" in response.text


async def test_cancel_redirects_with_access_denied_and_state(client: httpx.AsyncClient, sim: object) -> None:
    page = await _page(client, state="keep-me")
    response = await client.post(
        f"/OAuth2/SignIn/{APP}", data={"txn": page.headers["x-sim-txn"], "action": "cancel"}
    )
    assert query_of(response) == {"error": "access_denied", "state": "keep-me"}
    assert response.headers["location"].startswith(REDIRECT + "?")
    again = await client.post(f"/OAuth2/SignIn/{APP}", data={"txn": page.headers["x-sim-txn"]})
    assert again.status_code == 400  # the sign-in is over


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": REDIRECT + "/"},
        {"redirect_uri": REDIRECT.replace("127.0.0.1", "localhost") + "?x=1"},
        {"redirect_uri": "https://evil.example/auth/oauth/callback"},
        {"redirect_uri": None},
        {"client_id": "someone-else"},
        {"client_id": None},
    ],
)
async def test_bad_client_or_redirect_uri_is_an_html_400_never_a_redirect(
    client: httpx.AsyncClient, sim: object, overrides: dict[str, str | None]
) -> None:
    response = await _page(client, **overrides)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"scope": "openid nosuchscope"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"prompt": "none"}, "login_required"),
    ],
)
async def test_other_authorize_errors_go_back_to_the_client_with_state(
    client: httpx.AsyncClient, sim: object, overrides: dict[str, str | None], error: str
) -> None:
    response = await _page(client, state="s1", **overrides)
    assert query_of(response) == {"error": error, "state": "s1"}


async def test_unknown_app_is_an_html_404(client: httpx.AsyncClient, sim: object) -> None:
    for path in ("/OAuth2/Authorize/nope", "/OAuth2/Keys/nope", "/nope/.well-known/openid-configuration"):
        response = await client.get(path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert (await client.post("/OAuth2/Token/nope", data={"grant_type": "x"})).status_code == 404


async def test_signed_in_browser_gets_a_code_at_once_unless_prompt_login(
    client: httpx.AsyncClient, sim: object
) -> None:
    await authorized(client, "alice@example.com")
    sso = await _page(client, state="s2")
    assert query_of(sso)["state"] == "s2" and "code" in query_of(sso)
    forced = await _page(client, prompt="login")
    assert forced.status_code == 200 and "x-sim-txn" in forced.headers


async def test_wrong_verifier_is_invalid_grant_and_burns_the_code(
    client: httpx.AsyncClient, sim: object
) -> None:
    got = await authorized(client)
    right = got.verifier
    got.verifier = pkce()[0]
    response = await exchange(client, got)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    got.verifier = right
    assert (await exchange(client, got)).json()["error"] == "invalid_grant"


async def test_missing_verifier_is_invalid_request(client: httpx.AsyncClient, sim: object) -> None:
    got = await authorized(client)
    data = {"grant_type": "authorization_code", "code": got.code, "redirect_uri": REDIRECT}
    response = await token(client, data)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_code_is_single_use_and_reuse_revokes_what_it_gave(
    client: httpx.AsyncClient, sim: object
) -> None:
    got = await authorized(client)
    first = (await exchange(client, got)).json()
    again = await exchange(client, got)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    whoami = await client.post(
        "/Security/Whoami", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert whoami.status_code == 401
    refreshed = await token(client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refreshed.json()["error"] == "invalid_grant"


async def test_code_expires_after_60_seconds_on_the_simulator_clock(
    client: httpx.AsyncClient, sim: object
) -> None:
    got = await authorized(client)
    await client.post("/_sim/clock/advance", json={"seconds": 61})
    response = await exchange(client, got)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_redirect_uri_must_match_the_authorize_one(client: httpx.AsyncClient, sim: object) -> None:
    got = await authorized(client)
    data = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECT.replace("127.0.0.1", "localhost"),  # registered, but not the one used
        "code_verifier": got.verifier,
    }
    response = await token(client, data)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_client_secret_post_works(client: httpx.AsyncClient, sim: object) -> None:
    response = await exchange(client, await authorized(client), auth="post")
    assert response.status_code == 200 and "id_token" in response.json()


async def test_basic_credentials_are_form_urlencoded_first(client: httpx.AsyncClient, sim: object) -> None:
    await client.post(
        f"/_sim/oauth/apps/{APP}", json={"client_id": "svc@abc 1234", "client_secret": "p:ss+w%rd"}
    )
    raw = base64.b64encode(b"svc%40abc+1234:p%3Ass%2Bw%25rd").decode()
    response = await client.post(
        f"/OAuth2/Token/{APP}",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers={"Authorization": f"Basic {raw}"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"  # authenticated


@pytest.mark.parametrize("auth", ["basic", "post"])
async def test_wrong_secret_is_401_invalid_client(client: httpx.AsyncClient, sim: object, auth: str) -> None:
    got = await authorized(client)
    data = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECT,
        "code_verifier": got.verifier,
    }
    response = await token(client, data, auth=auth, secret=SECRET + "x")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert ("www-authenticate" in response.headers) is (auth == "basic")
    assert (await exchange(client, got)).status_code == 200  # a refused client does not burn the code


async def test_no_client_authentication_or_both_methods_are_refused(
    client: httpx.AsyncClient, sim: object
) -> None:
    data = {"grant_type": "refresh_token", "refresh_token": "x"}
    assert (await token(client, data, auth="none")).status_code == 401
    both = await client.post(
        f"/OAuth2/Token/{APP}",
        data={**data, "client_id": CLIENT_ID, "client_secret": SECRET},
        headers=basic(secret="x"),
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


async def test_token_call_errors(client: httpx.AsyncClient, sim: object) -> None:
    assert (await token(client, {"grant_type": "password"})).json()["error"] == "unsupported_grant_type"
    assert (await token(client, {})).json()["error"] == "invalid_request"
    repeated = await client.post(
        f"/OAuth2/Token/{APP}",
        content=b"grant_type=refresh_token&refresh_token=a&refresh_token=b",
        headers={"Content-Type": "application/x-www-form-urlencoded", **basic()},
    )
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"
