"""The browser side of an OAuth2 Client app: authorize, the sign-in pages, end session.

``GET /OAuth2/Authorize/{app}`` checks the client and its exact redirect URI (a mismatch is an HTML 400,
never a redirect), then the rest (errors go back to the redirect URI with ``state``). A browser with the
tenant's session cookie gets its code at once; others sign in: password, then the code of the user's first
MFA mechanism.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.requests import Request

from simulator.envelope import html_not_found
from simulator.inbound import cookie_values, is_secure
from simulator.mechanisms import last_digits, mask_email
from simulator.oauth.apps import OAuthApp
from simulator.oauth.http import PKCE_VALUE, SSO_COOKIE, oauth_of, parse_form, redirect, single
from simulator.oauth.page import code_page, message_page, sign_in_page
from simulator.oauth.state import Code, OAuthState, Txn
from simulator.totp import verify
from simulator.users import User

router = APIRouter()

#: MFA mechanisms the sign-in page can ask for, answered by a code (SQ by the first question's answer).
CODE_MECHANISMS = ("EMAIL", "SMS", "OATH", "OTP", "SQ")
_BAD_CLIENT = "The application's client id or redirect URI is not registered for this app."


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def first_mfa(user: User) -> str | None:
    """The user's first mechanism, in challenge order, that a code can answer; None: the password is all."""
    for challenge in user.challenges:
        for name in challenge:
            if name in CODE_MECHANISMS and (name not in ("OATH", "OTP") or user.totp_secret):
                return name
    return None


def _prompt(user: User, mechanism: str) -> str:
    if mechanism == "EMAIL":
        return f"Enter the code we emailed to {mask_email(user.email)}."
    if mechanism == "SMS":
        return f"Enter the code we texted to XXX-XXX-{last_digits(user.phone)}."
    if mechanism == "OTP":
        return f"Enter the code the CyberArk Identity app shows on {user.device}."
    if mechanism == "OATH":
        return "Enter the code from your authenticator app."
    return user.security_questions[0].question


def _scopes(raw: str | None, app: OAuthApp) -> list[str] | None:
    """The requested scopes in order, once each; None when missing or one is unknown to the app."""
    names = list(dict.fromkeys((raw or "").split()))
    if not names or not all(app.known_scope(n) for n in names):
        return None
    return names


def _new_code(oauth: OAuthState, app: OAuthApp, txn: Txn, user: User) -> Code:
    now = oauth.sim.now()
    code = Code(
        value=secrets.token_urlsafe(32),
        app_id=app.app_id,
        client_id=txn.client_id,
        redirect_uri=txn.redirect_uri,
        code_challenge=txn.code_challenge,
        nonce=txn.nonce,
        scope=txn.scope,
        user=user,
        auth_time=now,
        expires_at=now + app.code_lifetime,
    )
    oauth.add_code(code)
    return code


@router.get("/OAuth2/Authorize/{app_id}")
async def authorize(app_id: str, request: Request) -> Response:
    oauth = oauth_of(request)
    query: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    with oauth.sim.lock:
        app = oauth.app(app_id)
    if app is None:
        return html_not_found()
    client_id, redirect_uri = single(query, "client_id"), single(query, "redirect_uri")
    if client_id != app.client_id or redirect_uri not in app.redirect_uris or redirect_uri is None:
        return message_page("Sign-in error", _BAD_CLIENT, 400)
    state = single(query, "state")
    if any(len(v) > 1 for v in query.values()):
        return redirect(redirect_uri, error="invalid_request", state=state)
    if single(query, "response_type") != "code":
        return redirect(redirect_uri, error="unsupported_response_type", state=state)
    challenge = single(query, "code_challenge")
    if single(query, "code_challenge_method") != "S256" or not PKCE_VALUE.match(challenge or ""):
        return redirect(redirect_uri, error="invalid_request", state=state)
    scope = _scopes(single(query, "scope"), app)
    if scope is None:
        return redirect(redirect_uri, error="invalid_scope", state=state)
    prompt = single(query, "prompt")
    txn = Txn(
        txn_id=secrets.token_urlsafe(32),
        app_id=app.app_id,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        nonce=single(query, "nonce"),
        code_challenge=challenge or "",
        started_at=0.0,
    )
    with oauth.sim.lock:
        sso = cookie_values(request, SSO_COOKIE)
        user = None if prompt == "login" else oauth.sso_user(sso[-1] if sso else None)
        if user is not None:
            code = _new_code(oauth, app, txn, user)
            return redirect(redirect_uri, code=code.value, state=state)
        if prompt == "none":
            return redirect(redirect_uri, error="login_required", state=state)
        txn.started_at = oauth.sim.now()
        oauth.add_txn(txn)
    return sign_in_page(app.app_id, txn.txn_id)


@router.post("/OAuth2/SignIn/{app_id}")
async def sign_in(app_id: str, request: Request) -> Response:
    """The forms' target: ``txn``, ``action`` (signin | verify | cancel; absent: go on), the step's fields."""
    oauth = oauth_of(request)
    form = parse_form(await request.body()) or {}
    secure = is_secure(request)
    with oauth.sim.lock:
        app = oauth.app(app_id)
        if app is None:
            return html_not_found()
        txn = oauth.live_txn(single(form, "txn") or "", app_id)
        if txn is None:
            return message_page("Sign-in expired", "Start again from the application.", 400)
        action = single(form, "action")
        if action == "cancel":
            del oauth.txns[txn.txn_id]
            return redirect(txn.redirect_uri, error="access_denied", state=txn.state)
        if txn.user is None:
            return _password_step(oauth, app, txn, form, action, secure)
        return _code_step(oauth, app, txn, form, action, secure)


def _password_step(
    oauth: OAuthState, app: OAuthApp, txn: Txn, form: dict[str, list[str]], action: str | None, secure: bool
) -> Response:
    sim = oauth.sim
    username = (single(form, "username") or "").strip()
    password = single(form, "password") or ""
    user = sim.user(username) if username else None
    key = user.key if user is not None else username.lower()
    if sim.lockout_left(key) > 0:
        return sign_in_page(app.app_id, txn.txn_id, failed=True, username=username)
    good = (
        action in (None, "signin")
        and user is not None
        and not user.federated
        and bool(user.password)
        and _same(password, user.password)
    )
    if not good or user is None:
        sim.note_failure(key)
        return sign_in_page(app.app_id, txn.txn_id, failed=True, username=username)
    mechanism = first_mfa(user)
    if mechanism is None:
        return _signed_in(oauth, app, txn, user, secure)
    txn.user, txn.mechanism = user, mechanism
    if mechanism in ("EMAIL", "SMS"):
        txn.sent_code = f"{secrets.randbelow(10**6):06d}"
        sim.codes[user.key] = txn.sent_code  # what GET /_sim/code/{user} reads
    return code_page(app.app_id, txn.txn_id, mechanism, _prompt(user, mechanism))


def _code_step(
    oauth: OAuthState, app: OAuthApp, txn: Txn, form: dict[str, list[str]], action: str | None, secure: bool
) -> Response:
    sim, user, mechanism = oauth.sim, txn.user, txn.mechanism
    if user is None or mechanism is None:  # set together by the password step; kept for the type checker
        return message_page("Sign-in expired", "Start again from the application.", 400)
    answer = (single(form, "code") or "").strip()
    if mechanism in ("EMAIL", "SMS"):
        good = txn.sent_code is not None and _same(answer, txn.sent_code)
    elif mechanism in ("OATH", "OTP"):
        good = user.totp_secret is not None and verify(user.totp_secret, answer, sim.now())
    else:
        good = _same(answer, user.security_questions[0].answer)
    if action not in (None, "verify") or not good or sim.lockout_left(user.key) > 0:
        sim.note_failure(user.key)
        return code_page(app.app_id, txn.txn_id, mechanism, _prompt(user, mechanism), failed=True)
    return _signed_in(oauth, app, txn, user, secure)


def _signed_in(oauth: OAuthState, app: OAuthApp, txn: Txn, user: User, secure: bool) -> Response:
    """Both steps passed: a tenant session cookie for the browser and a code for the client."""
    oauth.txns.pop(txn.txn_id, None)
    oauth.sim.failures.pop(user.key, None)
    session = secrets.token_urlsafe(32)
    oauth.start_sso(session, user)
    code = _new_code(oauth, app, txn, user)
    response = redirect(txn.redirect_uri, code=code.value, state=txn.state)
    response.set_cookie(SSO_COOKIE, session, path="/OAuth2/", httponly=True, samesite="lax", secure=secure)
    return response


@router.get("/OAuth2/EndSession/{app_id}")
async def end_session(app_id: str, request: Request) -> Response:
    """Ends the tenant's browser session, then back to a post_logout_redirect_uri the app accepts."""
    oauth = oauth_of(request)
    with oauth.sim.lock:
        app = oauth.app(app_id)
        if app is None:
            return html_not_found()
        for value in cookie_values(request, SSO_COOKIE):
            oauth.sso.pop(value, None)
    target = request.query_params.get("post_logout_redirect_uri")
    response: Response
    if target and app.post_logout_ok(target):
        response = redirect(target, state=request.query_params.get("state"))
    elif target:
        response = message_page("Signed out", "The post_logout_redirect_uri is not registered.", 400)
    else:
        response = message_page("Signed out", "You have signed out of CyberArk Identity.", 200)
    response.delete_cookie(SSO_COOKIE, path="/OAuth2/", httponly=True, samesite="lax")
    return response
