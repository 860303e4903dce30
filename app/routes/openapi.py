"""The OpenAPI document a client generator can trust: ``install(app, settings)`` completes FastAPI's.

Example::

    install(app, settings)
    app.openapi()["components"]["schemas"]["ErrorCode"]["enum"]  # ["body_too_large", "csrf", ...]

FastAPI documents what the routes declare; what the BFF's own layers add is written in here, once:

- ``X-CSRF: 1`` (the ``XCsrf`` parameter) on every ``/auth`` and ``/api`` operation that is not GET/HEAD;
- the cookies as security schemes (``session``; ``login`` and ``oauthLogin`` for a login in progress);
- every error answer per operation, its status and its ``error`` codes (an enum, from the exception tree):
  the codes a route names in its ``documented_errors`` descriptions, plus the refusals of the guards that
  run before it (origin, csrf, header budget, body limits);
- the proxy, ``/api/{path}``, which FastAPI never sees (it is served ahead of the router), and each upstream
  of ``BFF_UPSTREAMS`` at ``{prefix}/{path}`` the same way;
- the OAuth navigations as ``302`` redirects with their ``Location``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI

from app.errors import BFFError
from app.settings import Settings

#: The schema of every ``error`` field: each code the BFF may answer, from the exception tree.
ERROR_CODE_SCHEMA = "ErrorCode"
_SAFE = frozenset({"get", "head", "options"})
_GUARDED = ("/auth", "/api")
_JSON_ERROR = {"$ref": "#/components/schemas/ErrorBody"}
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}
_PROXY_METHODS = ("get", "post", "put", "patch", "delete")


def error_statuses() -> dict[str, int]:
    """Each error code of the exception tree and its HTTP status, e.g. ``{"csrf": 403, ...}``."""
    found: dict[str, int] = {}
    todo: list[type[BFFError]] = [BFFError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        found[cls.code] = cls.status
    return dict(sorted(found.items()))


def install(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` answer the completed document (built once, then cached like FastAPI's)."""
    build = app.openapi
    done: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if "doc" not in done:
            done["doc"] = complete(build(), settings)
        document: dict[str, Any] = done["doc"]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def complete(doc: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``doc`` (FastAPI's) with the CSRF header, cookies, every error answer and the proxy declared."""
    statuses = error_statuses()
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[ERROR_CODE_SCHEMA] = {
        "type": "string",
        "enum": list(statuses),
        "description": "The `error` field of every error answer (README, 'Error answers').",
    }
    error_body = schemas.get("ErrorBody")
    if error_body is not None:
        error_body["properties"]["error"] = {"$ref": f"#/components/schemas/{ERROR_CODE_SCHEMA}"}
    components.setdefault("parameters", {})["XCsrf"] = {
        "name": "X-CSRF",
        "in": "header",
        "required": True,
        "description": "Must be exactly `1` on every /auth and /api call that is not GET or HEAD.",
        "schema": {"type": "string", "enum": ["1"]},
    }
    components["securitySchemes"] = {
        "session": _cookie(settings.cookie_name, "the session cookie (HttpOnly; the browser sends it)"),
        "login": _cookie(settings.login_cookie_name, "a login in progress (set by POST /auth/login)"),
        "oauthLogin": _cookie(settings.oauth_cookie_name, "an OAuth login in progress (SameSite=Lax)"),
    }
    doc["paths"]["/api/{path}"] = _proxy_path_item()
    proxied = ["/api/{path}"]
    for upstream in settings.bff_upstreams:
        doc["paths"][upstream.route] = _upstream_path_item(upstream.name, upstream.mode)
        proxied.append(upstream.route)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in _PROXY_METHODS or method in _SAFE:
                _complete_operation(path, method, operation, statuses, proxied=path in proxied)
    return doc


def _cookie(name: str, what: str) -> dict[str, Any]:
    return {"type": "apiKey", "in": "cookie", "name": name, "description": what}


def _complete_operation(
    path: str, method: str, operation: dict[str, Any], statuses: dict[str, int], *, proxied: bool = False
) -> None:
    responses: dict[str, Any] = operation["responses"]
    codes: dict[int, set[str]] = {}
    for status, response in list(responses.items()):
        if status in ("4XX", "422"):
            del responses[status]  # replaced by the explicit answers below; 422 is never sent (400 is)
            continue
        if not status.isdigit() or int(status) < 400:
            continue
        text = response.get("description", "")
        named = {c for c, s in statuses.items() if s == int(status) and re.search(rf"\b{c}\b", text)}
        codes.setdefault(int(status), set()).update(named)
    guarded = path.startswith(_GUARDED) or proxied
    unsafe = method not in _SAFE
    codes.setdefault(431, set()).add("headers_too_large")
    if guarded:
        codes.setdefault(403, set()).add("origin")
    if guarded and unsafe:
        codes[403].add("csrf")
        for code in ("invalid_request", "request_timeout", "body_too_large"):
            codes.setdefault(statuses[code], set()).add(code)
        parameters = operation.setdefault("parameters", [])
        parameters.insert(0, {"$ref": "#/components/parameters/XCsrf"})
    if "requestBody" in operation or any(p.get("in") == "query" for p in operation.get("parameters", [])):
        codes.setdefault(400, set()).add("invalid_request")
    for code_status, named in sorted(codes.items()):
        if not named:
            continue
        old = responses.get(str(code_status), {})
        description = old.get("description") or ", ".join(sorted(named))
        responses[str(code_status)] = _error_response(description, sorted(named), code_status)
    security = [{"session": []}] if proxied else _security(path, method)
    if security is not None:
        operation["security"] = security
    if path.startswith("/auth/oauth/") and "302" in responses:
        responses["302"] = {
            "description": "a redirect: the browser follows it (a navigation, not a fetch call)",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri-reference"}}},
        }
    # Status order as a reader expects it (FastAPI keeps the declaration order).
    operation["responses"] = dict(sorted(responses.items(), key=lambda kv: kv[0]))


def _error_response(description: str, codes: list[str], status: int) -> dict[str, Any]:
    schema = {
        "allOf": [copy.deepcopy(_JSON_ERROR)],
        "properties": {"error": {"type": "string", "enum": codes}},
    }
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if status in (429, 503):
        response["headers"] = copy.deepcopy(_RETRY_AFTER)
    return response


def _security(path: str, method: str) -> list[dict[str, list[str]]] | None:
    """Which cookie an operation needs; ``{}`` in the list: it works without (the cookie is optional)."""
    if path in ("/auth/session", "/auth/sessions", "/auth/sessions/{session_id}", "/api/{path}"):
        return [{"session": []}]
    if path == "/auth/logout":
        return [{"session": []}, {}]
    if path in ("/auth/advance", "/auth/poll"):
        return [{"login": []}]
    if path == "/auth/cancel":
        return [{"login": []}, {}]
    if path == "/auth/oauth/callback":
        return [{"oauthLogin": []}]
    return None


def _upstream_path_item(name: str, mode: str) -> dict[str, Any]:
    """An upstream's ``{prefix}/{path}``: the same proxy, its own allow-list and credential (api.md §7)."""
    item = _proxy_path_item()
    forbidden = "not_allowed: no rule of the upstream's allow matches the method and path"
    if mode == "access_token":
        forbidden += "; token_unavailable: the session has no OAuth access token (an API login)"
    for method, operation in item.items():
        operation["summary"] = f"Forward an allow-listed call to the upstream {name}"
        operation["description"] = (
            "`{path}` is the upstream's path (it may hold slashes). Its status (401 and 403 included: they "
            "do not end the session), body and end-to-end headers come back as they are, less cookies, "
            "Access-Control-* and hop-by-hop headers."
        )
        operation["operationId"] = f"upstream_{name.replace('-', '_')}_{method}"
        operation["tags"] = ["upstreams"]
        responses = operation["responses"]
        responses["200"]["description"] = "the upstream's answer"
        responses["401"]["description"] = "unauthenticated (no live session)"
        responses["403"]["description"] = forbidden
    return item


def _proxy_path_item() -> dict[str, Any]:
    """``/api/{path}``: the allow-listed proxy, served ahead of FastAPI's router (app/proxy)."""
    errors = {
        "400": "invalid_request: a request framed both ways or whose body differs from its length",
        "401": "unauthenticated (no live session) or session_expired (the tenant refused the token)",
        "403": "not_allowed: no BFF_PROXY_ALLOW rule matches the method and path",
        "404": "not_found",
        "429": "rate_limited: more than BFF_PROXY_MAX_IN_FLIGHT calls of one session at once",
        "502": "upstream_unavailable",
        "503": "store_unavailable",
        "504": "upstream_timeout",
    }
    item: dict[str, Any] = {}
    for method in _PROXY_METHODS:
        operation: dict[str, Any] = {
            "tags": ["proxy"],
            "summary": "Forward an allow-listed call to the tenant with the session's token",
            "description": (
                "`{path}` is the tenant's path (it may hold slashes). The tenant's status, body and "
                "end-to-end headers come back as they are, less cookies and hop-by-hop headers."
            ),
            "operationId": f"proxy_{method}",
            "parameters": [
                {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "the tenant's answer",
                    "content": {"application/json": {"schema": {}}},
                },
                **{status: {"description": text} for status, text in errors.items()},
            },
        }
        if method not in _SAFE:
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": {}}},
            }
        item[method] = operation
    return item
