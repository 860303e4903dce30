"""Small steps of the tenant protocol, as a client would take them, for the simulator's tests."""

from __future__ import annotations

import re
from typing import Any

import httpx

HEADERS = {"X-IDAP-NATIVE-CLIENT": "true", "X-CENTRIFY-NATIVE-CLIENT": "true"}
GENERIC = (
    "Authentication (login or challenge) has failed. Please try again or contact your system administrator."
)
ERROR_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{32}$")
ENVELOPE_KEYS = [
    "success",
    "Result",
    "Message",
    "MessageID",
    "Exception",
    "ErrorID",
    "ErrorCode",
    "IsSoftError",
    "InnerExceptions",
]

PASSWORDS = {
    "alice@example.com": "alice-pass-1",
    "email@example.com": "email-pass-1",
    "sms@example.com": "sms-pass-1",
    "oath@example.com": "oath-pass-1",
    "oath-text@example.com": "oath-text-pass-1",
    "push@example.com": "push-pass-1",
    "phone@example.com": "phone-pass-1",
    "sq@example.com": "sq-pass-1",
    "sqmulti@example.com": "sqmulti-pass-1",
    "reset@example.com": "reset-pass-1",
    "multi@example.com": "multi-pass-1",
    "apps@example.com": "apps-pass-1",
    "demo@example.com": "Demo-pass-1",
}


async def start(client: httpx.AsyncClient, user: str, **extra: Any) -> dict[str, Any]:
    body = {"User": user, "Version": "1.0", **extra}
    response = await client.post("/Security/StartAuthentication", json=body, headers=HEADERS)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


async def advance(
    client: httpx.AsyncClient,
    session_id: str,
    mechanism_id: str,
    action: str,
    answer: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"SessionId": session_id, "MechanismId": mechanism_id, "Action": action, **extra}
    if answer is not None:
        body["Answer"] = answer
    response = await client.post("/Security/AdvanceAuthentication", json=body, headers=HEADERS)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def mechanism(package: dict[str, Any], challenge: int, name: str) -> dict[str, Any]:
    """The mechanism called ``name`` in challenge number ``challenge`` of a package envelope."""
    mechs = package["Result"]["Challenges"][challenge]["Mechanisms"]
    found: dict[str, Any] = next(m for m in mechs if m["Name"] == name)
    return found


def assert_failure(data: dict[str, Any], summary: str = "Failure") -> None:
    assert list(data) == ENVELOPE_KEYS
    assert data["success"] is False
    assert data["Result"] == {"Summary": summary}
    assert data["Message"] == GENERIC
    assert ERROR_ID.match(data["ErrorID"])


async def password_step(
    client: httpx.AsyncClient, user: str, password: str | None = None
) -> tuple[str, dict]:
    """Start a login and answer its UP challenge (which must be first); returns (SessionId, reply)."""
    package = await start(client, user)
    sid = package["Result"]["SessionId"]
    up = mechanism(package, 0, "UP")
    reply = await advance(client, sid, up["MechanismId"], "Answer", password or PASSWORDS[user])
    return sid, reply


async def login(client: httpx.AsyncClient, user: str = "alice@example.com") -> httpx.Response:
    """A whole password-only login; returns the LoginSuccess HTTP response (with its cookies)."""
    package = await start(client, user)
    up = mechanism(package, 0, "UP")
    body = {
        "SessionId": package["Result"]["SessionId"],
        "MechanismId": up["MechanismId"],
        "Action": "Answer",
        "Answer": PASSWORDS[user],
    }
    response = await client.post("/Security/AdvanceAuthentication", json=body, headers=HEADERS)
    assert response.json()["Result"]["Summary"] == "LoginSuccess"
    return response


def set_cookie(response: httpx.Response, name: str) -> str:
    """The raw Set-Cookie header for cookie ``name``."""
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def cookie_value(response: httpx.Response, name: str) -> str:
    return set_cookie(response, name).split(";")[0].split("=", 1)[1]
