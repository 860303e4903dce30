"""Test controls under /_sim/ (never part of the real protocol): approve OOB, read codes, move the clock..."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulator.inbound import json_object
from simulator.state import APPROVABLE, Fault, SimState
from simulator.totp import totp
from simulator.users import UserFileError, parse_user, user_key

router = APIRouter(prefix="/_sim")
_INT_SETTINGS = ("lockout_threshold", "lockout_seconds", "token_lifetime", "login_lifetime")


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    body = await json_object(request)
    return _error(400, "expected a JSON object") if body is None else body


def _settle_oob(state: SimState, username: str, outcome: str) -> int:
    key = user_key(username)
    count = 0
    with state.lock:
        for login in state.logins.values():
            if login.key != key:
                continue
            for oob in login.oobs.values():
                if oob.state == "pending" and oob.mechanism in APPROVABLE:
                    oob.state = outcome
                    count += 1
    return count


@router.post("/oob/{username}/approve")
async def approve(username: str, request: Request) -> JSONResponse:
    """Approve every pending EMAIL link, SMS link, push, phone call or QR scan of the user's logins."""
    count = _settle_oob(_state(request), username, "approved")
    return JSONResponse({"approved": count}) if count else _error(404, "no pending out-of-band step")


@router.post("/oob/{username}/deny")
async def deny(username: str, request: Request) -> JSONResponse:
    count = _settle_oob(_state(request), username, "denied")
    return JSONResponse({"denied": count}) if count else _error(404, "no pending out-of-band step")


@router.get("/code/{username}")
async def last_code(username: str, request: Request) -> JSONResponse:
    """The last EMAIL or SMS code sent to the user."""
    state = _state(request)
    with state.lock:
        code = state.codes.get(user_key(username))
    return JSONResponse({"code": code}) if code else _error(404, "no code sent")


@router.get("/totp/{username}")
async def current_totp(username: str, request: Request) -> JSONResponse:
    """The code the user's authenticator app shows now, on the simulator clock."""
    state = _state(request)
    with state.lock:
        user = state.user(username)
        now = state.now()
    if user is None or user.totp_secret is None:
        return _error(404, "no such user with a totp_secret")
    return JSONResponse({"code": totp(user.totp_secret, now)})


@router.post("/tokens/expire")
async def expire_tokens(request: Request) -> JSONResponse:
    """Expire now one token (``{"token": T}``) or every token of a user (``{"username": U}``)."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    state = _state(request)
    with state.lock:
        now = state.now()
        if isinstance(body.get("token"), str):
            chosen = [t for t in state.tokens.values() if t.value == body["token"]]
        elif isinstance(body.get("username"), str):
            key = user_key(body["username"])
            chosen = [t for t in state.tokens.values() if t.user.key == key]
        else:
            return _error(400, 'expected {"token": ...} or {"username": ...}')
        for token in chosen:
            token.expires_at = min(token.expires_at, now)
    return JSONResponse({"expired": len(chosen)}) if chosen else _error(404, "no such token")


@router.post("/clock/advance")
async def advance_clock(request: Request) -> JSONResponse:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    seconds = body.get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        return _error(400, 'expected {"seconds": N} with N >= 0')
    state = _state(request)
    with state.lock:
        state.clock_offset += float(seconds)
        return JSONResponse({"now": state.now(), "offset": state.clock_offset})


@router.get("/clock")
async def read_clock(request: Request) -> JSONResponse:
    state = _state(request)
    with state.lock:
        return JSONResponse({"now": state.now(), "offset": state.clock_offset})


@router.get("/calls")
async def calls(request: Request) -> JSONResponse:
    """Every protocol call received since the last reset: method, path, headers, body, json, query, time."""
    state = _state(request)
    with state.lock:
        return JSONResponse(copy.deepcopy(state.calls))


@router.delete("/calls")
async def clear_calls(request: Request) -> JSONResponse:
    state = _state(request)
    with state.lock:
        state.calls.clear()
    return JSONResponse({"cleared": True})


def _fault(body: dict[str, Any]) -> Fault | str:
    path = body.get("path")
    if not isinstance(path, str) or not (path.startswith("/") or path == "*"):
        return "path must be an absolute path or *"
    fault = Fault(path)
    delay = body.get("delay", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        return "delay must be a number of seconds"
    fault.delay = float(delay)
    status = body.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        return "status must be an HTTP status code"
    fault.status = status
    fault.drop = body.get("drop") is True
    if status is not None:
        fault.body = str(body.get("body", "<html><body><h1>Service Unavailable</h1></body></html>"))
        fault.content_type = str(body.get("content_type", "text/html"))
    times = body.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        return "times must be a positive integer"
    fault.times = times
    if not (fault.delay or fault.drop or fault.status is not None):
        return "give at least one of delay, status or drop"
    return fault


@router.post("/faults")
async def set_fault(request: Request) -> JSONResponse:
    """Set one path's fault: {"path", "delay"?, "status"?, "body"?, "content_type"?, "drop"?, "times"?}."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    fault = _fault(body)
    if isinstance(fault, str):
        return _error(400, fault)
    state = _state(request)
    with state.lock:
        state.faults[fault.path] = fault
    return JSONResponse({"fault": fault.path})


@router.delete("/faults")
async def clear_faults(request: Request) -> JSONResponse:
    state = _state(request)
    with state.lock:
        state.faults.clear()
    return JSONResponse({"cleared": True})


@router.get("/config")
async def read_config(request: Request) -> JSONResponse:
    state = _state(request)
    with state.lock:
        return JSONResponse(_config_json(state))


@router.post("/config")
async def set_config(request: Request) -> JSONResponse:
    """Change ``pod_chain``, lockout, token or login lifetimes at run time."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    state = _state(request)
    chain = body.get("pod_chain")
    if "pod_chain" in body and not (
        chain is None or (isinstance(chain, list) and all(isinstance(h, str) and h for h in chain))
    ):
        return _error(400, 'pod_chain must be a list of "host:port"')
    for name in _INT_SETTINGS:
        if name in body and (
            not isinstance(body[name], int) or isinstance(body[name], bool) or body[name] < 0
        ):
            return _error(400, f"{name} must be a non-negative integer")
    unknown = set(body) - {"pod_chain", *_INT_SETTINGS}
    if unknown:
        return _error(400, f"unknown settings: {', '.join(sorted(unknown))}")
    with state.lock:
        if "pod_chain" in body:
            state.config.pod_chain = list(chain or [])
        for name in _INT_SETTINGS:
            if name in body:
                setattr(state.config, name, body[name])
        return JSONResponse(_config_json(state))


def _config_json(state: SimState) -> dict[str, Any]:
    config = state.config
    return {
        "pod_chain": list(config.pod_chain),
        "lockout_threshold": config.lockout_threshold,
        "lockout_seconds": config.lockout_seconds,
        "token_lifetime": config.token_lifetime,
        "login_lifetime": config.login_lifetime,
        "tenant_id": config.tenant_id,
    }


@router.post("/users")
async def add_user(request: Request) -> JSONResponse:
    """Add (or replace) one user at run time, same schema as the users file; /_sim/reset removes it."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    try:
        user = parse_user(body)
    except UserFileError as exc:
        return _error(400, str(exc))
    state = _state(request)
    with state.lock:
        state.users[user.key] = user
    return JSONResponse({"username": user.username})


@router.post("/reset")
async def reset(request: Request) -> JSONResponse:
    """Everything back to start: users, config, clock, logins, tokens, lockouts, codes, calls, faults."""
    _state(request).reset()
    return JSONResponse({"reset": True})


@router.get("/state")
async def debug_state(request: Request) -> JSONResponse:
    """A summary for debugging (no secrets): counts, lockouts, pending OOB, config."""
    state = _state(request)
    with state.lock:
        now = state.now()
        return JSONResponse(
            {
                "config": _config_json(state),
                "clock_offset": state.clock_offset,
                "logins": [
                    {
                        "user": login.key,
                        "challenge": login.index,
                        "oob": [o.state for o in login.oobs.values()],
                    }
                    for login in state.logins.values()
                ],
                "tokens": sum(1 for t in state.tokens.values() if not t.revoked and t.expires_at > now),
                "locked": {k: round(v - now, 3) for k, v in state.locked_until.items() if v > now},
                "faults": sorted(state.faults),
                "calls": len(state.calls),
                "users": sorted(state.users),
            }
        )
