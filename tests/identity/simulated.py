"""The tenant simulator under real uvicorn for the client tests: several hosts sharing one state."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.asgi_server import ServerThread

TOTP_SECRET = "JBSWY3DPEHPK3PXP"
PASSWORD = "Correct-horse-1"

USERS: list[dict[str, Any]] = [
    {"username": "pw@example.com", "password": PASSWORD, "display_name": "Pat Word", "challenges": [["UP"]]},
    {"username": "email@example.com", "password": PASSWORD, "challenges": [["UP"], ["EMAIL"]]},
    {
        "username": "sms@example.com",
        "password": PASSWORD,
        "phone": "+15550001234",
        "challenges": [["UP"], ["SMS"]],
    },
    {
        "username": "oath@example.com",
        "password": PASSWORD,
        "totp_secret": TOTP_SECRET,
        "challenges": [["OATH"], ["UP"]],
    },
    {
        "username": "push@example.com",
        "password": PASSWORD,
        "totp_secret": TOTP_SECRET,
        "number_matching": True,
        "challenges": [["UP"], ["OTP"]],
    },
    {
        "username": "pf@example.com",
        "password": PASSWORD,
        "phone": "+15550001234",
        "challenges": [["UP"], ["PF"]],
    },
    {"username": "qr@example.com", "password": PASSWORD, "challenges": [["QR"]]},
    {
        "username": "sq@example.com",
        "password": PASSWORD,
        "security_questions": [{"question": "First pet?", "answer": "Rex"}],
        "challenges": [["UP"], ["SQ"]],
    },
    {
        "username": "sqmulti@example.com",
        "password": PASSWORD,
        "sq_multipart": True,
        "security_questions": [
            {"uuid": "q-pet", "question": "First pet?", "answer": "Rex"},
            {"uuid": "q-town", "question": "Home town?", "answer": "Ghent"},
        ],
        "challenges": [["UP"], ["SQ"]],
    },
    {
        "username": "reset@example.com",
        "password": PASSWORD,
        "must_reset_password": True,
        "challenges": [["UP"]],
    },
    {"username": "fed@example.com", "federated": True, "idp_redirect_url": "https://idp.example/sso?u=fed"},
    {
        "username": "fedpin@example.com",
        "display_name": "Pia Pin",
        "federated": True,
        "idp_oob_pin_required": True,
        "idp_redirect_url": "https://idp.example/sso?u=fedpin",
    },
    {
        "username": "fedfields@example.com",
        "display_name": "Fiona Fields",
        "federated": True,
        "idp_user_fields": True,
        "idp_redirect_url": "https://idp.example/sso?u=fedfields",
    },
    {
        "username": "multi@example.com",
        "password": PASSWORD,
        "phone": "+15550001234",
        "totp_secret": TOTP_SECRET,
        "oath_answer_type": "Text",
        "omit_prompt_select": ["SMS"],
        "challenges": [["UP"], ["EMAIL", "SMS", "OATH", "PF"]],
    },
]


class Sim:
    """Test controls of one simulated tenant, e.g. ``sim.approve("pf@example.com")``."""

    def __init__(self, app: Any, servers: dict[str, ServerThread], verify: Any = True) -> None:
        self.app = app
        self.servers = servers
        self.control = httpx.Client(base_url=servers["a"].url, timeout=5, verify=verify)

    def url(self, name: str = "a") -> str:
        return self.servers[name].url

    def host(self, name: str = "a") -> str:
        return self.servers[name].host

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self) -> None:
        self._ok(self.control.post("/_sim/reset"))

    def config(self, **settings: Any) -> None:
        self._ok(self.control.post("/_sim/config", json=settings))

    def approve(self, username: str) -> None:
        self._ok(self.control.post(f"/_sim/oob/{username}/approve"))

    def code(self, username: str) -> str:
        return str(self._ok(self.control.get(f"/_sim/code/{username}"))["code"])

    def totp(self, username: str) -> str:
        return str(self._ok(self.control.get(f"/_sim/totp/{username}"))["code"])

    def idp_complete(self, username: str) -> str | None:
        """Sign the user in at the simulated IdP; the PIN its page shows, if any."""
        pin: str | None = self._ok(self.control.post(f"/_sim/idp/{username}/complete"))["pin"]
        return pin

    def idp_fail(self, username: str) -> None:
        self._ok(self.control.post(f"/_sim/idp/{username}/fail"))

    def expire(self, token: str) -> None:
        self._ok(self.control.post("/_sim/tokens/expire", json={"token": token}))

    def fault(self, **fault: Any) -> None:
        self._ok(self.control.post("/_sim/faults", json=fault))

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self._ok(self.control.get("/_sim/calls"))
        return [c for c in calls if path is None or c["path"] == path]

    def close(self) -> None:
        self.control.close()


def only(started: object) -> Any:
    """The Started result, asserting that is what came back."""
    from app.identity.models import Started

    assert isinstance(started, Started), started
    return started


def mechanism_named(package: Any, index: int, name: str) -> Any:
    """The mechanism ``name`` of challenge ``index``."""
    matches = [m for m in package.challenges[index].mechanisms if m.name == name]
    assert len(matches) == 1, package
    return matches[0]
