"""The server side of an OAuth2 Client app: token, revoke, userinfo, JWKS and discovery.

Client authentication is ``client_secret_basic`` or ``client_secret_post`` (never both in one call).
Errors are RFC 6749 §5.2 JSON: 400 ``invalid_request`` / ``invalid_grant`` / ``invalid_scope`` /
``unsupported_grant_type`` / ``unauthorized_client``, 401 ``invalid_client``. The id_token's ``iat`` and
``exp`` are wall-clock times (the client judges them with its own clock); everything the simulator judges
itself follows the simulator clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from joserfc.jwk import RSAKey
from starlette.requests import Request

from simulator.envelope import html_not_found
from simulator.oauth.apps import OIDC_SCOPES, OAuthApp
from simulator.oauth.http import (
    NO_STORE,
    PKCE_VALUE,
    issuer_of,
    oauth_error,
    oauth_of,
    parse_form,
    repeated,
    single,
    tenant_url,
)
from simulator.oauth.keys import AppKeys, sign_id_token
from simulator.oauth.state import Grant, OAuthState

router = APIRouter()
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _invalid_client(basic: bool) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="OAuth2"'} if basic else None
    return oauth_error(401, "invalid_client", "Client authentication failed.", headers)


def authenticate(request: Request, form: dict[str, list[str]], app: OAuthApp) -> JSONResponse | None:
    """None when the caller is the app's confidential client (Basic or form fields), else the error answer."""
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return _invalid_client(True)
        if "client_secret" in form:
            return oauth_error(400, "invalid_request", "Use one client authentication method.")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _invalid_client(True)
        raw_id, sep, raw_secret = decoded.partition(":")
        # RFC 6749 §2.3.1: both are form-urlencoded before they are joined and base64-encoded.
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        posted_id = single(form, "client_id")
        if not sep or (posted_id is not None and posted_id != client_id):
            return _invalid_client(True)
    else:
        client_id, secret = single(form, "client_id") or "", single(form, "client_secret") or ""
    if not (client_id and secret and _same(client_id, app.client_id) and _same(secret, app.client_secret)):
        return _invalid_client(auth is not None)
    return None


@dataclass
class Issued:
    """What a grant produced, to be answered once the id_token (if any) is signed outside the lock."""

    access_token: str
    expires_in: int
    scope: list[str]
    refresh_token: str | None = None
    claims: dict[str, Any] | None = None
    keys: AppKeys | None = None
    key: RSAKey | None = None
    tamper: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.claims is not None and self.keys is not None and self.key is not None:
            body["id_token"] = sign_id_token(self.claims, self.keys, self.key, self.tamper)
        body["scope"] = " ".join(self.scope)
        return body


def _issue(
    oauth: OAuthState, app: OAuthApp, grant: Grant, scope: list[str], refresh: bool, grant_type: str
) -> Issued:
    access = secrets.token_urlsafe(48)
    oauth.add_access(access, app, grant, scope)
    issued = Issued(access, app.access_token_lifetime, scope)
    if refresh:
        issued.refresh_token = secrets.token_urlsafe(48)
        oauth.add_refresh(issued.refresh_token, app, grant)
    oauth.counts_of(app.app_id).granted[grant_type] += 1
    return issued


def _add_id_token(
    oauth: OAuthState, app: OAuthApp, grant: Grant, nonce: str | None, issuer: str, issued: Issued
) -> None:
    """Give an issue in progress its id_token claims, the key of the moment and any tamper asked for."""
    now = int(time.time())
    user = grant.user
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": user.uuid,
        "aud": app.client_id,
        "exp": now + app.access_token_lifetime,
        "iat": now,
        "auth_time": now - int(oauth.sim.now() - grant.auth_time),
        "nonce": nonce,
        "preferred_username": user.username,
        "unique_name": user.username,
        "name": user.display_name,
        "email": user.email,
    }
    tamper = oauth.take_tamper(app.app_id)
    if tamper == "wrong_iss":
        claims["iss"] = f"https://issuer.invalid/{app.app_id}/"
    elif tamper == "wrong_aud":
        claims["aud"] = f"not-{app.client_id}"
    elif tamper == "expired":
        claims["iat"], claims["exp"] = now - app.access_token_lifetime - 600, now - 600
    elif tamper == "wrong_nonce":
        claims["nonce"] = secrets.token_urlsafe(16)
    if tamper == "no_nonce" or claims["nonce"] is None:
        del claims["nonce"]
    keys = oauth.keys(app.app_id)
    issued.claims, issued.keys, issued.key, issued.tamper = claims, keys, keys.current, tamper


def _code_grant(
    oauth: OAuthState, app: OAuthApp, form: dict[str, list[str]], issuer: str
) -> Issued | JSONResponse:
    value, redirect_uri, verifier = (single(form, n) for n in ("code", "redirect_uri", "code_verifier"))
    if not (value and redirect_uri and verifier):
        return oauth_error(400, "invalid_request", "code, redirect_uri and code_verifier are required.")
    code = oauth.codes.get(value)
    if code is None or code.app_id != app.app_id or code.client_id != app.client_id:
        return oauth_error(400, "invalid_grant")
    if code.used:
        # RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
        if code.grant_id is not None:
            oauth.revoke_grant(code.grant_id)
        return oauth_error(400, "invalid_grant")
    code.used = True
    if oauth.sim.now() >= code.expires_at or redirect_uri != code.redirect_uri:
        return oauth_error(400, "invalid_grant")
    if not PKCE_VALUE.match(verifier) or not _same(s256(verifier), code.code_challenge):
        return oauth_error(400, "invalid_grant")
    grant = Grant(secrets.token_hex(12), app.app_id, app.client_id, code.user, code.scope, code.auth_time)
    oauth.add_grant(grant)
    code.grant_id = grant.grant_id
    issued = _issue(oauth, app, grant, grant.scope, app.issue_refresh_tokens, "authorization_code")
    if "openid" in grant.scope:
        _add_id_token(oauth, app, grant, code.nonce, issuer, issued)
    return issued


def _refresh_grant(oauth: OAuthState, app: OAuthApp, form: dict[str, list[str]]) -> Issued | JSONResponse:
    value = single(form, "refresh_token")
    if not value:
        return oauth_error(400, "invalid_request", "refresh_token is required.")
    refresh = oauth.refresh.get(value)
    grant = oauth.grants.get(refresh.grant_id) if refresh is not None else None
    if refresh is None or grant is None or grant.app_id != app.app_id or grant.client_id != app.client_id:
        return oauth_error(400, "invalid_grant")
    if refresh.used or refresh.revoked or grant.revoked or oauth.sim.now() >= refresh.expires_at:
        return oauth_error(400, "invalid_grant")
    scope = grant.scope
    asked = single(form, "scope")
    if asked is not None:
        scope = list(dict.fromkeys(asked.split()))
        if not set(scope) <= set(grant.scope):
            return oauth_error(400, "invalid_scope")
    rotate = app.rotate_refresh_tokens
    if rotate:
        refresh.used = True
    # Without rotation the answer carries no refresh_token: the client keeps the one it has.
    return _issue(oauth, app, grant, scope, rotate, "refresh_token")


def _client_grant(oauth: OAuthState, app: OAuthApp, form: dict[str, list[str]]) -> Issued | JSONResponse:
    if not app.client_credentials:
        return oauth_error(400, "unauthorized_client")
    asked = single(form, "scope")
    scope = list(dict.fromkeys(asked.split())) if asked else list(app.scopes)
    if not scope or not all(n in app.scopes and n not in OIDC_SCOPES for n in scope):
        return oauth_error(400, "invalid_scope")
    now = oauth.sim.now()
    grant = Grant(secrets.token_hex(12), app.app_id, app.client_id, oauth.client_user(app), scope, now)
    oauth.add_grant(grant)
    return _issue(oauth, app, grant, scope, False, "client_credentials")


async def _client_call(request: Request, app_id: str) -> tuple[OAuthApp, dict[str, list[str]]] | Response:
    """The app and the form of an authenticated client call, or the answer that refuses it."""
    oauth = oauth_of(request)
    form = parse_form(await request.body())
    with oauth.sim.lock:
        app = oauth.app(app_id)
    if app is None:
        return html_not_found()
    if form is None or repeated(form):
        return oauth_error(400, "invalid_request", "The form body is malformed or repeats a parameter.")
    refusal = authenticate(request, form, app)
    return refusal if refusal is not None else (app, form)


@router.post("/OAuth2/Token/{app_id}")
async def token(app_id: str, request: Request) -> Response:
    oauth = oauth_of(request)
    raw = parse_form(await request.body()) or {}
    grant_type = single(raw, "grant_type") or ""
    with oauth.sim.lock:
        if oauth.app(app_id) is not None:
            oauth.counts_of(app_id).requests[grant_type] += 1
            failure = oauth.take_failure(app_id, grant_type)
            if failure is not None:
                return oauth_error(failure.status, failure.error, failure.description)
    checked = await _client_call(request, app_id)
    if isinstance(checked, Response):
        return checked
    app, form = checked
    issued: Issued | JSONResponse
    with oauth.sim.lock:
        if grant_type == "authorization_code":
            issued = _code_grant(oauth, app, form, issuer_of(app, request))
        elif grant_type == "refresh_token":
            issued = _refresh_grant(oauth, app, form)
        elif grant_type == "client_credentials":
            issued = _client_grant(oauth, app, form)
        elif not grant_type:
            issued = oauth_error(400, "invalid_request", "grant_type is required.")
        else:
            issued = oauth_error(400, "unsupported_grant_type")
    if isinstance(issued, JSONResponse):
        return issued
    return JSONResponse(issued.body(), headers=NO_STORE)  # the RSA signature happens here, lock released


@router.post("/OAuth2/Revoke/{app_id}")
async def revoke(app_id: str, request: Request) -> Response:
    """RFC 7009: 200 whatever the token; a refresh token takes its whole grant with it."""
    oauth = oauth_of(request)
    checked = await _client_call(request, app_id)
    if isinstance(checked, Response):
        return checked
    app, form = checked
    value = single(form, "token")
    if not value:
        return oauth_error(400, "invalid_request", "token is required.")
    with oauth.sim.lock:
        oauth.counts_of(app_id).revocations += 1
        refresh = oauth.refresh.get(value)
        grant = oauth.grants.get(refresh.grant_id) if refresh is not None else None
        if grant is not None and grant.app_id == app.app_id:
            oauth.revoke_grant(grant.grant_id)
        access = oauth.access.get(value)
        bearer = oauth.sim.tokens.get(value)
        if access is not None and access.app_id == app.app_id and bearer is not None:
            bearer.revoked = True
    return Response(status_code=200, headers=NO_STORE)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def userinfo(app_id: str, request: Request) -> Response:
    """The signed-in user's claims for an access token of this app (any scope)."""
    oauth = oauth_of(request)
    with oauth.sim.lock:
        if oauth.app(app_id) is None:
            return html_not_found()
        grant = oauth.live_access(_bearer(request), app_id)
    if grant is None:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return oauth_error(401, "invalid_token", headers=headers)
    user = grant.user
    claims = {
        "sub": user.uuid,
        "preferred_username": user.username,
        "unique_name": user.username,
        "name": user.display_name,
        "email": user.email,
    }
    return JSONResponse(claims, headers=NO_STORE)


for _method in ("GET", "POST"):
    router.add_api_route(
        "/OAuth2/UserInfo/{app_id}", userinfo, methods=[_method], name=f"userinfo_{_method.lower()}"
    )


@router.get("/OAuth2/Keys/{app_id}")
async def keys(app_id: str, request: Request) -> Response:
    oauth = oauth_of(request)
    with oauth.sim.lock:
        app = oauth.app(app_id)
        if app is None:
            return html_not_found()
        jwks = oauth.keys(app_id).jwks(oauth.sim.now())
    headers = {} if app.jwks_cache_control is None else {"Cache-Control": app.jwks_cache_control}
    return JSONResponse(jwks, headers=headers)


@router.get("/{app_id}/.well-known/openid-configuration")
async def discovery(app_id: str, request: Request) -> Response:
    oauth = oauth_of(request)
    with oauth.sim.lock:
        app = oauth.app(app_id)
    if app is None:
        return html_not_found()
    base = tenant_url(request)
    return JSONResponse(
        {
            "issuer": issuer_of(app, request),
            "authorization_endpoint": f"{base}/OAuth2/Authorize/{app_id}",
            "token_endpoint": f"{base}/OAuth2/Token/{app_id}",
            "userinfo_endpoint": f"{base}/OAuth2/UserInfo/{app_id}",
            "jwks_uri": f"{base}/OAuth2/Keys/{app_id}",
            "revocation_endpoint": f"{base}/OAuth2/Revoke/{app_id}",
            "end_session_endpoint": f"{base}/OAuth2/EndSession/{app_id}",
            "response_types_supported": ["code"],
            "grant_types_supported": [
                g for g in GRANT_TYPES if g != "client_credentials" or app.client_credentials
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": list(dict.fromkeys([*OIDC_SCOPES, *app.scopes])),
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "preferred_username",
                "unique_name",
                "name",
                "email",
            ],
        }
    )
