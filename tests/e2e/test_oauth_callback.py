"""Every way the OAuth callback fails: the documented redirect, the login cookie cleared, no session made, an
existing session untouched; code reuse; bad id_tokens; JWKS key rotation; the open-redirect corpus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

import httpx
import pytest
from redis import Redis

from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.bff_process import BffProcess
from tests.support.oauth_bff import (
    APP,
    CLIENT_ID,
    CLIENT_SECRET,
    Clock,
    OAuthBffFactory,
    location,
    oauth_login,
    query,
    set_cookie_lines,
    to_callback,
)

pytestmark = pytest.mark.usefixtures("sim")


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as client:
        yield client


def session_count(redis_url: str) -> int:
    with Redis.from_url(redis_url) as raw:
        return len(list(raw.scan_iter("bff:s:*")))


async def api_session(browser: httpx.AsyncClient, bff_url: str) -> str:
    """An API-mode session in ``browser``; returns its cookie."""
    started = await browser.post(f"{bff_url}/auth/login", json={"username": "alice@example.com"})
    mechanism = started.json()["challenge"]["mechanisms"][0]["id"]
    done = await browser.post(
        f"{bff_url}/auth/advance", json={"mechanism": mechanism, "answer": "alice-pass-1"}
    )
    assert done.json()["status"] == "authenticated"
    cookie = browser.cookies.get("bff")
    assert cookie
    return cookie


def assert_failed(response: httpx.Response, code: str) -> None:
    """The documented failure: 302 /?login_error=code, login cookie cleared, no session cookie."""
    assert location(response) == f"/?login_error={code}"
    cookies = set_cookie_lines(response)
    assert len(cookies) == 1 and cookies[0].startswith("bff-oauth=") and "Max-Age=0" in cookies[0], cookies
    assert "error_description" not in response.headers["location"]


Spoil = Callable[[Sim, str], Awaitable[str] | str]


def _with(url: str, **changes: str | None) -> str:
    params = {**query(url), **changes}
    base = url.split("?")[0]
    return base + "?" + urlencode({k: v for k, v in params.items() if v is not None})


CASES: list[tuple[str, str, str]] = [
    # (case, what happens before the callback, expected code)
    ("state_differs", "state", "state_mismatch"),
    ("state_missing", "no_state", "state_mismatch"),
    ("state_repeated", "two_states", "login_failed"),
    ("no_login_cookie", "no_cookie", "state_mismatch"),
    ("tampered_login_cookie", "tampered_cookie", "state_mismatch"),
    ("expired_login_cookie", "expired_cookie", "state_mismatch"),
    ("tenant_access_denied", "cancel", "access_denied"),
    ("tenant_other_error", "server_error", "login_failed"),
    ("no_code", "no_code", "login_failed"),
    ("token_invalid_grant", "invalid_grant", "login_failed"),
    ("token_invalid_client", "invalid_client", "login_failed"),
    ("token_endpoint_down", "token_500", "login_failed"),
    ("token_endpoint_slow", "token_slow", "login_failed"),
    ("token_endpoint_gone", "token_drop", "login_failed"),
    ("jwks_down", "keys_500", "login_failed"),
    ("userinfo_refused", "userinfo_401", "login_failed"),
]


@pytest.mark.parametrize(("case", "action", "code"), CASES, ids=[c[0] for c in CASES])
async def test_a_failed_callback_redirects_makes_no_session_and_leaves_the_old_one(
    case: str,
    action: str,
    code: str,
    make_oauth_bff: OAuthBffFactory,
    sim: Sim,
    browser: httpx.AsyncClient,
    redis_url: str,
) -> None:
    clock = Clock()
    overrides: dict[str, object] = {"clock": clock, "cyberark_timeout": 1}
    if action == "userinfo_401":
        overrides["cyberark_oauth_scope"] = "profile"  # no id_token: the user comes from UserInfo
    bff = make_oauth_bff(**overrides)
    old_cookie = await api_session(browser, bff.url)
    assert session_count(redis_url) == 1

    _, callback_url, _ = await to_callback(browser, bff, cancel=action == "cancel")
    if action == "state":
        callback_url = _with(callback_url, state="not-the-state")
    elif action == "no_state":
        callback_url = _with(callback_url, state=None)
    elif action == "two_states":
        callback_url += "&state=second"
    elif action == "no_cookie":
        browser.cookies.delete("bff-oauth")
    elif action == "tampered_cookie":
        value = browser.cookies.get("bff-oauth") or ""
        browser.cookies.set("bff-oauth", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    elif action == "expired_cookie":
        clock.advance(301)
    elif action == "server_error":
        callback_url = _with(callback_url, code=None, error="server_error", error_description="Secret+detail")
    elif action == "no_code":
        callback_url = _with(callback_url, code=None)
    elif action == "invalid_grant":
        sim.post(f"/_sim/oauth/{APP}/fail", {"error": "invalid_grant", "description": "Tenant+words"})
    elif action == "invalid_client":
        sim.post(f"/_sim/oauth/{APP}/fail", {"error": "invalid_client", "status": 401})
    elif action == "token_500":
        sim.post("/_sim/faults", {"path": f"/OAuth2/Token/{APP}", "status": 500, "times": 1})
    elif action == "token_slow":
        sim.post("/_sim/faults", {"path": f"/OAuth2/Token/{APP}", "delay": 2, "times": 1})
    elif action == "token_drop":
        sim.post("/_sim/faults", {"path": f"/OAuth2/Token/{APP}", "drop": True, "times": 1})
    elif action == "keys_500":
        sim.post("/_sim/faults", {"path": f"/OAuth2/Keys/{APP}", "status": 500, "times": 1})
    elif action == "userinfo_401":
        sim.post("/_sim/faults", {"path": f"/OAuth2/UserInfo/{APP}", "status": 401, "times": 1})

    failed = await browser.get(callback_url)
    assert_failed(failed, code)
    assert session_count(redis_url) == 1
    # The session the browser had is untouched and still its own.
    assert browser.cookies.get("bff") == old_cookie
    state = await browser.get(f"{bff.url}/auth/session")
    assert state.status_code == 200 and state.json()["login"] == "api"


@pytest.mark.parametrize(
    "kind",
    ["wrong_key", "unknown_kid", "alg_none", "wrong_iss", "wrong_aud", "expired", "wrong_nonce", "no_nonce"],
)
async def test_a_bad_id_token_is_refused(
    kind: str, make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient, redis_url: str
) -> None:
    bff = make_oauth_bff()
    sim.post(f"/_sim/oauth/{APP}/tamper", {"id_token": kind})
    walk = await oauth_login(browser, bff)
    assert_failed(walk.callback, "login_failed")
    assert session_count(redis_url) == 0
    assert browser.cookies.get("bff") is None
    keys = [c for c in sim.calls() if c["path"] == f"/OAuth2/Keys/{APP}"]
    # An unknown kid makes exactly one fresh JWKS fetch before the token is refused; nothing else does.
    assert len(keys) == (2 if kind == "unknown_kid" else 1)


async def test_a_rotated_signing_key_is_fetched_once_by_its_kid(
    make_oauth_bff: OAuthBffFactory, sim: Sim, redis_url: str
) -> None:
    bff = make_oauth_bff()
    async with httpx.AsyncClient(timeout=15) as first:
        assert location((await oauth_login(first, bff)).callback) == "/"
    async with httpx.AsyncClient(timeout=15) as second:
        assert location((await oauth_login(second, bff)).callback) == "/"
    assert len([c for c in sim.calls() if c["path"] == f"/OAuth2/Keys/{APP}"]) == 1  # cached
    sim.post(f"/_sim/oauth/{APP}/keys/rotate", {"keep_old": False})
    async with httpx.AsyncClient(timeout=15) as third:
        assert location((await oauth_login(third, bff)).callback) == "/"
    assert len([c for c in sim.calls() if c["path"] == f"/OAuth2/Keys/{APP}"]) == 2
    assert session_count(redis_url) == 3


async def test_a_replayed_callback_is_state_mismatch_and_never_reaches_the_tenant(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    _, callback_url, login_cookie = await to_callback(browser, bff)
    assert location(await browser.get(callback_url)) == "/"
    first = browser.cookies.get("bff")
    # The same callback again, login cookie and all (a replay), then 60 more with made-up codes: none
    # reaches the token endpoint (each would carry the client secret, and re-send a used code).
    for attempt in range(61):
        browser.cookies.set("bff-oauth", login_cookie)
        url = callback_url if attempt == 0 else _with(callback_url, code=f"made-up-{attempt}")
        assert_failed(await browser.get(url), "state_mismatch")
    assert browser.cookies.get("bff") == first
    assert (await browser.get(f"{bff.url}/auth/session")).status_code == 200  # the first login's session
    grants = sim.http.get(f"/_sim/oauth/{APP}/grants").json()
    assert grants["requests"]["authorization_code"] == 1 and grants["granted"]["authorization_code"] == 1


async def test_a_state_is_spent_by_its_first_callback_whatever_that_callback_brought(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient, redis_url: str
) -> None:
    bff = make_oauth_bff()
    _, callback_url, login_cookie = await to_callback(browser, bff)
    # Someone who holds the login cookie tries a made-up code first: refused by the tenant, state spent.
    assert_failed(await browser.get(_with(callback_url, code="made-up")), "login_failed")
    browser.cookies.set("bff-oauth", login_cookie)
    assert_failed(await browser.get(callback_url), "state_mismatch")  # the genuine code comes too late
    grants = sim.http.get(f"/_sim/oauth/{APP}/grants").json()
    assert grants["requests"]["authorization_code"] == 1 and grants["granted"]["authorization_code"] == 0
    # The store keeps a hash of the state (never the state) until the login cookie would have expired.
    state = query(callback_url)["state"]
    with Redis.from_url(redis_url) as raw:
        keys = list(raw.scan_iter("bff:o:*"))
        assert len(keys) == 1 and state.encode() not in keys[0]
        assert 0 < raw.pttl(keys[0]) <= 300_000
        assert raw.get(keys[0]) == b"1"


async def test_a_state_spent_on_one_replica_is_refused_by_another(
    make_oauth_bff: OAuthBffFactory, sim: Sim, sim_server: ServerThread, redis_url: str
) -> None:
    one = make_oauth_bff()
    # A second replica in a process of its own behind the same public URL, on the same Redis.
    two = BffProcess(
        sim_server.url,
        redis_url,
        BFF_LOGIN_MODES="api,oauth",
        BFF_PUBLIC_URL=one.url,
        CYBERARK_OAUTH_APP_ID=APP,
        CYBERARK_OAUTH_CLIENT_ID=CLIENT_ID,
        CYBERARK_OAUTH_CLIENT_SECRET=CLIENT_SECRET,
    )
    try:
        async with httpx.AsyncClient(timeout=15) as browser:
            _, callback_url, login_cookie = await to_callback(browser, one)
            done = await browser.get(callback_url.replace(one.url, two.url))
            assert location(done) == "/"
            browser.cookies.set("bff-oauth", login_cookie)
            assert_failed(await browser.get(callback_url), "state_mismatch")
    finally:
        two.stop()
    grants = sim.http.get(f"/_sim/oauth/{APP}/grants").json()
    assert grants["requests"]["authorization_code"] == 1


async def test_a_login_cookie_from_another_login_does_not_fit(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    _, callback_url, _ = await to_callback(browser, bff)
    async with httpx.AsyncClient(timeout=15) as victim:
        # The attacker's callback (their code and state) sent to a victim with a login of their own.
        await victim.get(f"{bff.url}/auth/oauth/login")
        assert_failed(await victim.get(callback_url), "state_mismatch")
        assert victim.cookies.get("bff") is None


# The open-redirect corpus -------------------------------------------------------------------------

#: return_to values (as the browser sends them in the query, i.e. before the one decoding) that must be
#: refused with 400 invalid_request.
REFUSED = [
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "/%2F%2Fevil.example",
    "/%2F/evil.example",
    "%5C%5Cevil.example",
    "/%5Cevil.example",
    "https://evil.example",
    "http://evil.example/",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%6Aavascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "https://app.example.com@evil.example",
    "//user:pass@evil.example",
    "@evil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0D/evil.example",
    "/%00/evil.example",
    "%09//evil.example",
    "%20//evil.example",
    "/%20/evil.example",
    "/%7F/evil.example",
    "/path%20with%20space",
    "%E2%81%84%E2%81%84evil.example",  # U+2044 fraction slash, twice
    "%EF%BC%8F%EF%BC%8Fevil.example",  # U+FF0F fullwidth solidus, twice
    "%E2%88%95evil.example",  # U+2215 division slash
    "%EF%BC%BCevil.example",  # U+FF3C fullwidth reverse solidus
    "./evil.example",
    "../evil.example",
    "?next=/",
    "%23/",
]

#: Local paths that are fine (some look odd, but none leaves the BFF's origin).
ACCEPTED = [
    ("/", "/"),
    ("/apps?tab=2", "/apps?tab=2"),
    ("%2Fapps", "/apps"),
    ("/%252F%252Fevil.example", "/%2F%2Fevil.example"),  # decoded once: a path of one segment
    ("/a/../b", "/a/../b"),
    ("/javascript:alert(1)", "/javascript:alert(1)"),
    ("/%E2%88%95evil.example", "/%E2%88%95evil.example"),  # a non-ASCII path segment, percent-encoded again
]


async def test_the_open_redirect_corpus_is_refused(make_oauth_bff: OAuthBffFactory) -> None:
    assert len(REFUSED) >= 30
    bff = make_oauth_bff()
    async with httpx.AsyncClient(timeout=15) as client:
        for payload in REFUSED:
            answer = await client.get(f"{bff.url}/auth/oauth/login?return_to={payload}")
            assert answer.status_code == 400, (payload, answer.status_code, answer.headers.get("location"))
            assert answer.json()["error"] == "invalid_request", payload
            assert "set-cookie" not in answer.headers, payload
        repeated = await client.get(f"{bff.url}/auth/oauth/login?return_to=/a&return_to=//evil.example")
        assert repeated.status_code == 400


@pytest.mark.parametrize(("payload", "expected"), ACCEPTED)
async def test_a_local_return_to_is_where_the_login_ends(
    payload: str, expected: str, make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    walk_location = await _login_with_raw_return_to(browser, bff.url, payload)
    assert walk_location == expected
    assert walk_location.startswith("/") and not walk_location.startswith("//")
    assert "\\" not in walk_location


async def _login_with_raw_return_to(browser: httpx.AsyncClient, bff_url: str, raw: str) -> str:
    started = await browser.get(f"{bff_url}/auth/oauth/login?return_to={raw}")
    page = await browser.get(location(started))
    txn = page.headers["x-sim-txn"]
    sign_in = location(started).split("/OAuth2/")[0] + f"/OAuth2/SignIn/{APP}"
    form = {"txn": txn, "username": "alice@example.com", "password": "alice-pass-1", "action": "signin"}
    callback = await browser.get(location(await browser.post(sign_in, data=form)))
    return location(callback)


def test_corpus_payloads_are_distinct() -> None:
    assert len(set(REFUSED)) == len(REFUSED) >= 30
