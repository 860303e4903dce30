"""An OAuth login, refresh, failure and logout: logs, metrics and answers never carry the client secret, a
token, a code, the PKCE verifier or a cookie; audit lines name the login mode."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import httpx

from tests.e2e.test_login_logs import Capture, captured  # noqa: F401 - the fixture
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.oauth_bff import APP, CLIENT_SECRET, OAuthBffFactory, oauth_login, query


async def test_oauth_logs_metrics_and_answers_carry_no_secret(
    make_oauth_bff: OAuthBffFactory,
    sim: Sim,
    captured: Capture,  # noqa: F811
) -> None:
    bff = make_oauth_bff()
    # As configure_logging leaves them in production (they print URLs and headers); the BFF's own loggers
    # stay at DEBUG (the captured fixture).
    httpx_logger = logging.getLogger("httpx")
    saved = httpx_logger.level
    httpx_logger.setLevel(logging.WARNING)
    try:
        await _story(bff, sim, captured)
    finally:
        httpx_logger.setLevel(saved)


async def _story(bff: ServerThread, sim: Sim, captured: Capture) -> None:  # noqa: F811
    sim.post(f"/_sim/oauth/apps/{APP}", {"access_token_lifetime": 30})
    answers: list[str] = []
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as browser:
        walk = await oauth_login(browser, bff)
        cookie = browser.cookies.get("bff") or ""
        answers += [walk.callback.text, str(walk.callback.headers)]
        for _ in range(2):  # the first call refreshes the 30 s token
            call = await browser.post(f"{bff.url}/api/UPRest/GetUPData", json={})
            answers += [call.text, str(call.headers)]
        sim.post(f"/_sim/oauth/{APP}/fail", {"error": "invalid_client", "status": 401, "description": "X"})
        async with httpx.AsyncClient(timeout=15) as other:  # a failed login: the token call is refused
            failed = await oauth_login(other, bff)
            answers += [failed.callback.text, str(failed.callback.headers)]
        out = await browser.post(f"{bff.url}/auth/logout")
        answers += [out.text, str(out.headers)]
        metrics = (await browser.get(f"{bff.url}/metrics")).text

    token_calls = [c for c in sim.calls() if c["path"] == f"/OAuth2/Token/{APP}"]
    forms = [{k: v[0] for k, v in parse_qs(c["body"]).items()} for c in token_calls]
    secrets = {CLIENT_SECRET, cookie, walk.login_cookie, query(walk.callback_url)["code"]}
    secrets |= {f[k] for f in forms for k in ("code", "code_verifier", "refresh_token") if k in f}
    secrets |= {
        c["headers"]["authorization"].removeprefix("Bearer ")
        for c in sim.calls()
        if c["path"] == "/UPRest/GetUPData"
    }
    assert len(secrets) >= 7

    text = "\n".join(captured.lines)
    events = [json.loads(line) for line in captured.lines[::2] if line.startswith("{")]
    modes = {(e.get("event"), e.get("mode")) for e in events if e.get("event")}
    for event in ("login_started", "login_succeeded", "login_failed", "token_refreshed", "logout"):
        assert (event, "oauth") in modes, event
    for secret in secrets:
        assert secret not in text, secret[:8]
        assert secret not in metrics, secret[:8]
        # The cookies are in their own Set-Cookie, by design; nothing else is in any answer.
        if secret not in (cookie, walk.login_cookie):
            assert all(secret not in answer for answer in answers), secret[:8]
