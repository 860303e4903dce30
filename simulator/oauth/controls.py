"""Test controls for the OAuth2 Client apps, under /_sim/oauth/ (never part of the real protocol)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulator.inbound import json_object
from simulator.oauth.apps import OAuthApp, parse_oauth_app
from simulator.oauth.http import oauth_of
from simulator.oauth.keys import TAMPERS, new_key
from simulator.oauth.state import OAuthState, TokenFailure
from simulator.oauth.token import GRANT_TYPES
from simulator.users import UserFileError

router = APIRouter(prefix="/_sim/oauth")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    body = await json_object(request)
    return _error(400, "expected a JSON object") if body is None else body


def _times(body: dict[str, Any]) -> int | None:
    times = body.get("times", 1)
    return times if isinstance(times, int) and not isinstance(times, bool) and times >= 1 else None


def _app_json(app: OAuthApp) -> dict[str, Any]:
    """The app's settings as the users file spells them, without its secret."""
    shown = {k: v for k, v in app.raw.items() if k != "client_secret"}
    return {
        **shown,
        "access_token_lifetime": app.access_token_lifetime,
        "refresh_token_lifetime": app.refresh_token_lifetime,
        "code_lifetime": app.code_lifetime,
        "issue_refresh_tokens": app.issue_refresh_tokens,
        "rotate_refresh_tokens": app.rotate_refresh_tokens,
        "client_credentials": app.client_credentials,
    }


def _known(oauth: OAuthState, app_id: str) -> OAuthApp | JSONResponse:
    with oauth.sim.lock:
        app = oauth.app(app_id)
    return app if app is not None else _error(404, "no such oauth app")


@router.get("/state")
async def summary(request: Request) -> JSONResponse:
    oauth = oauth_of(request)
    with oauth.sim.lock:
        return JSONResponse(oauth.summary())


@router.get("/apps")
async def list_apps(request: Request) -> JSONResponse:
    oauth = oauth_of(request)
    with oauth.sim.lock:
        return JSONResponse([_app_json(a) for a in oauth.apps.values()])


@router.post("/apps")
async def put_app(request: Request) -> JSONResponse:
    """Add or replace one app (the users file's schema) until the next /_sim/reset."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    try:
        app = parse_oauth_app(body)
    except UserFileError as exc:
        return _error(400, str(exc))
    oauth_of(request).put_app(app)
    return JSONResponse(_app_json(app))


@router.post("/apps/{app_id}")
async def update_app(app_id: str, request: Request) -> JSONResponse:
    """Change some of an app's settings, e.g. ``{"rotate_refresh_tokens": false, "redirect_uris": [...]}``."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    oauth = oauth_of(request)
    app = _known(oauth, app_id)
    if isinstance(app, JSONResponse):
        return app
    try:
        changed = parse_oauth_app({**app.raw, **body, "app_id": app_id})
    except UserFileError as exc:
        return _error(400, str(exc))
    oauth.put_app(changed)
    return JSONResponse(_app_json(changed))


@router.post("/{app_id}/keys/rotate")
async def rotate_keys(app_id: str, request: Request) -> JSONResponse:
    """A new signing key (new kid). Old keys: ``keep_old`` true (default, until reset) or false (dropped
    now), or ``keep_old_seconds`` N (published N more seconds on the simulator clock)."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    oauth = oauth_of(request)
    app = _known(oauth, app_id)
    if isinstance(app, JSONResponse):
        return app
    keep, seconds = body.get("keep_old", True), body.get("keep_old_seconds")
    if not isinstance(keep, bool):
        return _error(400, "keep_old must be true or false")
    if seconds is not None and (
        not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0
    ):
        return _error(400, "keep_old_seconds must be a number of seconds >= 0")
    keep_for = float(seconds) if seconds is not None else (None if keep else 0.0)
    keys = oauth.keys(app_id)
    fresh = new_key()  # about 0.3 s: made before the lock is taken
    with oauth.sim.lock:
        kid = keys.rotate(oauth.sim.now(), keep_for, fresh)
        kids = [str(k["kid"]) for k in keys.jwks(oauth.sim.now())["keys"]]
    return JSONResponse({"kid": kid, "kids": kids})


@router.get("/{app_id}/grants")
async def grant_counts(app_id: str, request: Request) -> JSONResponse:
    """Token calls by grant_type (``requests``, refused ones included), grants issued (``granted``)."""
    oauth = oauth_of(request)
    app = _known(oauth, app_id)
    if isinstance(app, JSONResponse):
        return app
    with oauth.sim.lock:
        counts = oauth.counts_of(app_id)
        return JSONResponse(
            {
                "requests": dict(counts.requests),
                "granted": {g: counts.granted[g] for g in GRANT_TYPES},
                "revocations": counts.revocations,
            }
        )


@router.delete("/{app_id}/grants")
async def clear_grant_counts(app_id: str, request: Request) -> JSONResponse:
    oauth = oauth_of(request)
    with oauth.sim.lock:
        oauth.counts.pop(app_id, None)
    return JSONResponse({"cleared": True})


@router.post("/{app_id}/tamper")
async def tamper(app_id: str, request: Request) -> JSONResponse:
    """Spoil the next ``times`` id_tokens: ``{"id_token": one of TAMPERS, "times": 1}``."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    oauth = oauth_of(request)
    app = _known(oauth, app_id)
    if isinstance(app, JSONResponse):
        return app
    kind, times = body.get("id_token"), _times(body)
    if kind not in TAMPERS:
        return _error(400, f"id_token must be one of {', '.join(TAMPERS)}")
    if times is None:
        return _error(400, "times must be a positive integer")
    with oauth.sim.lock:
        queue = oauth.tampers.setdefault(app_id, [])
        queue.extend([str(kind)] * times)
        return JSONResponse({"queued": list(queue)})


@router.delete("/{app_id}/tamper")
async def clear_tamper(app_id: str, request: Request) -> JSONResponse:
    oauth = oauth_of(request)
    with oauth.sim.lock:
        oauth.tampers.pop(app_id, None)
    return JSONResponse({"cleared": True})


@router.post("/{app_id}/fail")
async def fail(app_id: str, request: Request) -> JSONResponse:
    """Refuse the next ``times`` token calls (of ``grant_type`` only, when given) with an OAuth error."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    oauth = oauth_of(request)
    app = _known(oauth, app_id)
    if isinstance(app, JSONResponse):
        return app
    error, status = body.get("error", "invalid_grant"), body.get("status", 400)
    grant_type, description, times = body.get("grant_type"), body.get("description"), _times(body)
    if not isinstance(error, str) or not error:
        return _error(400, "error must be an OAuth error code")
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        return _error(400, "status must be 4xx or 5xx")
    if grant_type is not None and grant_type not in GRANT_TYPES:
        return _error(400, f"grant_type must be one of {', '.join(GRANT_TYPES)}")
    if description is not None and not isinstance(description, str):
        return _error(400, "description must be a string")
    if times is None:
        return _error(400, "times must be a positive integer")
    with oauth.sim.lock:
        queue = oauth.failures.setdefault(app_id, [])
        queue.extend(TokenFailure(error, status, grant_type, description) for _ in range(times))
        return JSONResponse({"queued": len(queue)})


@router.delete("/{app_id}/fail")
async def clear_fail(app_id: str, request: Request) -> JSONResponse:
    oauth = oauth_of(request)
    with oauth.sim.lock:
        oauth.failures.pop(app_id, None)
    return JSONResponse({"cleared": True})


@router.post("/tokens/expire")
async def expire(request: Request) -> JSONResponse:
    """Expire now one access or refresh token (``{"token": T}``) or all of a user's (``{"username": U}``)."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    token, username = body.get("token"), body.get("username")
    if not isinstance(token, str) and not isinstance(username, str):
        return _error(400, 'expected {"token": ...} or {"username": ...}')
    oauth = oauth_of(request)
    with oauth.sim.lock:
        count = oauth.expire(
            token if isinstance(token, str) else None, username if isinstance(username, str) else None
        )
    return JSONResponse({"expired": count}) if count else _error(404, "no such token")
