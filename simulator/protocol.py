"""The login endpoints of the tenant protocol, all POST, all HTTP 200 with the envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulator import federation, flow
from simulator.envelope import failure
from simulator.inbound import cookie_values, host_of, is_secure, json_object
from simulator.state import SimState

router = APIRouter()


def _respond(reply: flow.Reply) -> JSONResponse:
    response = JSONResponse(reply.body)
    for cookie in reply.cookies:
        response.headers.append("set-cookie", cookie)
    return response


def _caller(request: Request) -> flow.Caller:
    return flow.Caller(
        host_of(request),
        is_secure(request),
        cookie_values(request, "SimLB"),
        oob_idp_auth=federation.wants_oob_idp(request),
    )


async def _run(
    request: Request, step: Callable[[SimState, dict[str, Any], flow.Caller], flow.Reply], empty: str
) -> JSONResponse:
    body = await json_object(request)
    if body is None:
        return JSONResponse(failure(empty))
    state: SimState = request.app.state.sim
    return _respond(step(state, body, _caller(request)))


@router.post("/Security/StartAuthentication")
async def start_authentication(request: Request) -> JSONResponse:
    return await _run(request, flow.start, "Undefined")


@router.post("/Security/AdvanceAuthentication")
async def advance_authentication(request: Request) -> JSONResponse:
    return await _run(request, flow.advance, "Failure")


@router.post("/Security/CleanupAuthentication")
async def cleanup_authentication(request: Request) -> JSONResponse:
    return await _run(request, lambda state, body, _caller: flow.cleanup(state, body), "Failure")
