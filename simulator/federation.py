"""Federated users with ``OobIdPAuth`` (spec cyberark-identity.md §1.1), and a page standing in for their IdP.

A client that sends ``OobIdPAuth: true`` with StartAuthentication gets, for a federated user, a short URL
(``/u/{IdpShortUrlId}`` on the host it addressed) and an ``IdpLoginSessionId``. The page at the short URL
plays the IdP: its button signs the user in, and for a user with ``idp_oob_pin_required`` shows a PIN. The
client then either polls ``POST /Security/OobAuthStatus`` or answers the PIN with AdvanceAuthentication
``MechanismId: OOBAUTHPIN``. ``/_sim/idp/{username}/...`` completes, fails and reads the PIN without the page.
"""

from __future__ import annotations

import hmac
import html
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.requests import Request

from simulator.envelope import failure, ok
from simulator.inbound import host_of, json_object
from simulator.state import IdpLogin, SimState
from simulator.users import User, user_key

#: The MechanismId a client answers the IdP's PIN with.
PIN_MECHANISM = "OOBAUTHPIN"
SHORT_PATH = "/u/"

router = APIRouter()


def wants_oob_idp(request: Request) -> bool:
    """Whether the client asked for the out-of-band IdP flow (``OobIdPAuth: true``)."""
    return request.headers.get("oobidpauth", "").strip().lower() == "true"


def start(state: SimState, user: User, host: str, secure: bool, oob: bool) -> dict[str, Any]:
    """The StartAuthentication result for a federated user (call with ``state.lock`` held)."""
    base = f"{'https' if secure else 'http'}://{host}"
    if not oob:
        # Without OobIdPAuth a tenant only names the IdP; the login would end at the tenant's own domain.
        return {"IdpRedirectUrl": user.idp_redirect_url}
    _sweep(state)
    login = IdpLogin(
        session_id=secrets.token_urlsafe(48),
        short_id=secrets.token_urlsafe(9),
        user=user,
        started_at=state.now(),
    )
    state.idp_logins[login.session_id] = login
    short = base + SHORT_PATH + login.short_id
    return {
        # The IdP's own (long) address; the short URL leads to the page below, which plays the IdP.
        "IdpRedirectUrl": user.idp_redirect_url,
        "IdpRedirectShortUrl": short,
        "IdpShortUrlId": login.short_id,
        "IdpLoginSessionId": login.session_id,
        "IdpOobAuthPinRequired": user.idp_oob_pin_required,
        "TenantId": state.config.tenant_id,
        "Version": "1.0",
    }


def _sweep(state: SimState) -> None:
    oldest = state.now() - state.config.login_lifetime
    for key in [k for k, v in state.idp_logins.items() if v.started_at < oldest]:
        del state.idp_logins[key]


def _live(state: SimState, session_id: object) -> IdpLogin | None:
    """The login for ``session_id`` unless unknown or past ``login_lifetime`` (then it is forgotten)."""
    login = state.idp_logins.get(session_id) if isinstance(session_id, str) else None
    if login is None:
        return None
    if state.now() - login.started_at > state.config.login_lifetime:
        del state.idp_logins[login.session_id]
        return None
    return login


def _tokens(state: SimState, user: User) -> tuple[Any, Any, dict[str, Any]]:
    duration, once = state.issue_tokens(user)
    extra = {
        "Token": duration.value,
        "TokenLifetime": state.config.token_lifetime,
        "RefreshToken": secrets.token_urlsafe(32),
    }
    return duration, once, extra


def _user_fields(state: SimState, user: User, host: str) -> dict[str, Any]:
    return {
        "DisplayName": user.display_name,
        "UserId": user.uuid,
        "EmailAddress": user.email,
        "PodFqdn": host,
        "User": user.username,
        "CustomerID": state.config.tenant_id,
    }


@router.post("/Security/OobAuthStatus")
async def oob_auth_status(request: Request) -> JSONResponse:
    """``State: Pending`` until the IdP sign-in is done, then ``Success`` with the token, once."""
    body = await json_object(request)
    state = request.app.state.sim
    with state.lock:
        login = _live(state, (body or {}).get("SessionId"))
        if login is None or login.state == "denied":
            if login is not None:
                del state.idp_logins[login.session_id]
            return JSONResponse(failure())
        if login.state != "signed_in" or login.user.idp_oob_pin_required:
            # A PIN login finishes only with the PIN: polling it stays pending.
            return JSONResponse(ok({"State": "Pending"}))
        del state.idp_logins[login.session_id]
        _, _, result = _tokens(state, login.user)
        result["State"] = "Success"
        if login.user.idp_user_fields:
            result.update(_user_fields(state, login.user, host_of(request)))
    return JSONResponse(ok(result))


def answer_pin(
    state: SimState, body: dict[str, Any], host: str, secure: bool
) -> tuple[dict[str, Any], list[str]]:
    """AdvanceAuthentication with ``MechanismId: OOBAUTHPIN``: the PIN the IdP page showed, once."""
    with state.lock:
        login = _live(state, body.get("SessionId"))
        if login is None:
            return failure(), []
        del state.idp_logins[login.session_id]  # one answer, right or wrong
        answer = body.get("Answer")
        if (
            body.get("Action") != "Answer"
            or login.state != "signed_in"
            or login.pin is None
            or not isinstance(answer, str)
            or not hmac.compare_digest(answer.strip().encode(), login.pin.encode())
        ):
            return failure(), []
        duration, once, extra = _tokens(state, login.user)
        result = {
            "AuthLevel": "Normal",
            "Auth": once.value,
            **_user_fields(state, login.user, host),
            "SystemID": state.config.tenant_id,
            "SourceDsType": "FDS",
            "UserDirectory": "FDS",
            "Summary": "LoginSuccess",
            **extra,
        }
    flags = "; Path=/; HttpOnly" + ("; Secure" if secure else "")
    return ok(result), [f".ASPXAUTH={duration.value}{flags}", f"CCSID={secrets.token_urlsafe(32)}{flags}"]


def _sign_in(state: SimState, login: IdpLogin) -> None:
    """The user signed in at the IdP (call with ``state.lock`` held)."""
    if login.state == "pending":
        login.state = "signed_in"
        if login.user.idp_oob_pin_required:
            login.pin = f"{secrets.randbelow(10**6):06d}"


# The IdP's page ---------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Partner IdP (simulated)</title></head>
<body><main><h1>Partner IdP (simulated)</h1>{content}</main></body></html>
"""


def _page(content: str, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(_PAGE.format(content=content), status_code=status)
    # A real IdP's sign-in page refuses to be framed: a client must open it in a window of its own.
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["Cache-Control"] = "no-store"
    return response


def _by_short_id(state: SimState, short_id: str) -> IdpLogin | None:
    for login in list(state.idp_logins.values()):
        if hmac.compare_digest(login.short_id.encode(), short_id.encode()):
            return _live(state, login.session_id)
    return None


_GONE = "<p id='gone'>This sign-in link has expired or was already used.</p>"


@router.get("/u/{short_id}")
async def idp_page(short_id: str, request: Request) -> HTMLResponse:
    state = request.app.state.sim
    with state.lock:
        login = _by_short_id(state, short_id)
        who = html.escape(login.user.username) if login is not None else ""
    if login is None:
        return _page(_GONE, 404)
    return _page(
        f"<p>Sign in as <b id='user'>{who}</b>?</p>"
        "<form method='post'><button id='sign-in' name='action' value='sign_in'>Sign in</button> "
        "<button id='cancel' name='action' value='cancel'>Cancel</button></form>"
    )


@router.post("/u/{short_id}")
async def idp_page_submit(short_id: str, request: Request) -> HTMLResponse:
    form = parse_qs((await request.body()).decode("latin-1"))
    action = (form.get("action") or [""])[0]
    state = request.app.state.sim
    with state.lock:
        login = _by_short_id(state, short_id)
        if login is None or login.state == "denied":
            return _page(_GONE, 404)
        if action == "cancel":
            login.state = "denied"
            return _page("<p id='done'>Sign-in cancelled. You can close this window.</p>")
        _sign_in(state, login)
        pin = login.pin
    if pin is not None:
        return _page(
            f"<p>Signed in. Enter this PIN in the application: <b id='pin'>{pin}</b></p>"
            "<p>You can close this window afterwards.</p>"
        )
    return _page("<p id='done'>Signed in. You can close this window and return to the application.</p>")


# Test controls ----------------------------------------------------------------------------------------


def _settle(request: Request, username: str, outcome: str) -> tuple[int, str | None]:
    state = request.app.state.sim
    key = user_key(username)
    count, pin = 0, None
    with state.lock:
        for login in list(state.idp_logins.values()):
            if login.user.key != key or _live(state, login.session_id) is None or login.state != "pending":
                continue
            if outcome == "denied":
                login.state = "denied"
            else:
                _sign_in(state, login)
                pin = login.pin
            count += 1
    return count, pin


@router.post("/_sim/idp/{username}/complete")
async def complete(username: str, request: Request) -> JSONResponse:
    """Sign the user in at the IdP, as the page's button does; ``pin`` is the PIN the page would show."""
    count, pin = _settle(request, username, "signed_in")
    if not count:
        return JSONResponse({"error": "no pending IdP sign-in"}, status_code=404)
    return JSONResponse({"completed": count, "pin": pin})


@router.post("/_sim/idp/{username}/fail")
async def fail(username: str, request: Request) -> JSONResponse:
    """The IdP refuses the user: their pending federated logins fail."""
    count, _ = _settle(request, username, "denied")
    if not count:
        return JSONResponse({"error": "no pending IdP sign-in"}, status_code=404)
    return JSONResponse({"failed": count})


@router.get("/_sim/idp/{username}/pin")
async def read_pin(username: str, request: Request) -> JSONResponse:
    """The PIN the IdP page showed the user (the newest one); 404 when none is waiting."""
    state = request.app.state.sim
    key = user_key(username)
    with state.lock:
        waiting = [
            login
            for login in list(state.idp_logins.values())
            if login.user.key == key and login.pin is not None and _live(state, login.session_id) is not None
        ]
        pin = max(waiting, key=lambda login: login.started_at).pin if waiting else None
    return JSONResponse({"pin": pin}) if pin else JSONResponse({"error": "no PIN shown"}, status_code=404)
