"""A team's own API behind the BFF, for tests: it verifies the BFF's assertion the way a real service would
(joserfc, against the JWKS fetched over HTTP from the BFF) and records everything it received.

Example::

    orders = OrdersService(issuer="http://127.0.0.1:8000", audience="http://127.0.0.1:9000")
    with ServerThread(orders.app, interface="asgi3") as server:
        orders.jwks_url = bff.url + "/.well-known/jwks.json"
        ...                      # the BFF calls GET {server.url}/orders/42
        orders.calls[-1].claims  # {"sub": "...", "sid": "...", ...}, or .error when it did not verify

Routes: ``/orders/{id}`` (JSON), ``/slow/{seconds}``, ``/status/{code}``, ``/cors`` (answers with
Access-Control-* headers), anything else echoes. Each call is recorded whole: method, path, query, headers,
body, and the assertion's verdict.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from starlette.types import Receive, Scope, Send

ALGORITHMS = ["ES256", "RS256", "EdDSA"]


@dataclass
class Received:
    """One call as the service saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes
    bearer: str | None = None
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class OrdersService:
    """The service's state: who it trusts (``issuer``, ``audience``, ``jwks_url``) and what it got."""

    def __init__(
        self, *, issuer: str = "", audience: str = "", jwks_url: str = "", jwks_ca: str | None = None
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.jwks_ca = jwks_ca  # a CA file for a JWKS served over https by a throwaway certificate
        self.calls: list[Received] = []
        self.jwks_fetches = 0
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def fetch_keys(self) -> KeySet:
        """The BFF's JWKS over HTTP (as a service caches it; fetched again for an unknown ``kid``)."""
        answer = httpx.get(self.jwks_url, timeout=5, verify=_trust(self.jwks_ca))
        answer.raise_for_status()
        self.jwks_fetches += 1
        self._keys = KeySet.import_key_set(answer.json())
        return self._keys

    def verify(self, token: str, now: float | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(header, claims) of a valid assertion; JoseError when it is not one (signature, iss, aud, exp)."""
        keys = self._keys or self.fetch_keys()
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except JoseError:
            decoded = jwt.decode(token, self.fetch_keys(), algorithms=ALGORITHMS)  # a key added since
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.audience},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "jti": {"essential": True},
            "sid": {"essential": True},
        }
        registry = JWTClaimsRegistry(leeway=0, **options) if now is None else _at(now, options)
        registry.validate(decoded.claims)
        return dict(decoded.header), dict(decoded.claims)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = (await receive())["type"]
                await send({"type": event + ".complete"})
                if event == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        seen = Received(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers=headers,
            raw_headers=list(scope["headers"]),
            body=body,
        )
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer "):
            seen.bearer = auth.removeprefix("Bearer ")
            if self.jwks_url:
                try:
                    seen.header, seen.claims = await asyncio.to_thread(self.verify, seen.bearer)
                except (JoseError, ValueError, httpx.HTTPError) as exc:
                    seen.error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.calls.append(seen)
        await self._answer(scope["path"], seen, send)

    async def _answer(self, path: str, seen: Received, send: Send) -> None:
        parts = path.strip("/").split("/")
        status, extra = 200, []
        if parts[0] == "slow" and len(parts) > 1:
            await asyncio.sleep(float(parts[1]))
        if parts[0] == "status" and len(parts) > 1:
            status = int(parts[1])
        if parts[0] == "cors":
            extra = [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", b"X-Secret"),
            ]
        payload = {
            "path": path,
            "user": seen.claims.get("sub"),
            "verified": seen.error is None and bool(seen.claims),
        }
        if parts[0] == "orders" and len(parts) > 1:
            payload["order"] = {"id": parts[1], "items": 3}
        data = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers + extra})
        await send({"type": "http.response.body", "body": data})


def _trust(ca: str | None) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca) if ca else True


def _at(now: float, options: dict[str, Any]) -> JWTClaimsRegistry:
    return JWTClaimsRegistry(now=lambda: int(now), leeway=0, **options)
