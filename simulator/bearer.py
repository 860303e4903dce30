"""Calls made with the tenant's token: Logout, Whoami, GetUPData, and /Sim/Echo for proxy tests."""

from __future__ import annotations

import copy

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.requests import Request

from simulator.envelope import not_authenticated, ok
from simulator.inbound import bearer_of, merge_headers
from simulator.state import SimState, Token
from simulator.users import default_apps

router = APIRouter()
_DEFAULT_APPS = default_apps()


def _spend(request: Request) -> tuple[SimState, Token | None]:
    state: SimState = request.app.state.sim
    with state.lock:
        return state, state.spend_token(bearer_of(request), request.url.path)


@router.post("/Security/Logout")
async def logout(request: Request) -> JSONResponse:
    state, token = _spend(request)
    if token is None:
        return not_authenticated()
    with state.lock:
        state.revoke_grant(token.grant)
    return JSONResponse(ok(None))


@router.post("/Security/Whoami")
async def whoami(request: Request) -> JSONResponse:
    state, token = _spend(request)
    if token is None:
        return not_authenticated()
    user = token.user
    return JSONResponse(
        ok({"User": user.username, "UserUuid": user.uuid, "TenantId": state.config.tenant_id})
    )


@router.post("/UPRest/GetUPData")
async def get_up_data(request: Request) -> JSONResponse:
    _, token = _spend(request)
    if token is None:
        return not_authenticated()
    apps = token.user.apps if token.user.apps is not None else _DEFAULT_APPS
    return JSONResponse(ok({"Apps": copy.deepcopy(apps)}))


async def echo(request: Request) -> JSONResponse:
    """What arrived, so proxy tests can see it; sets a cookie the proxy must not pass on."""
    body = (await request.body()).decode("utf-8", "replace")
    _, token = _spend(request)
    if token is None:
        return not_authenticated()
    result = {
        "method": request.method,
        "path": request.url.path,
        "headers": merge_headers(request.headers.items()),
        "body": body,
        "query": request.url.query,
        "user": token.user.username,
    }
    response = JSONResponse(ok(result))
    response.headers.append("set-cookie", "SimEcho=1; Path=/")
    return response


# A route per method: one multi-method route would give all its operations the same OpenAPI id.
for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    router.add_api_route("/Sim/Echo", echo, methods=[_method], name=f"echo_{_method.lower()}")
