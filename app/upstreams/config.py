"""``BFF_UPSTREAMS``: the team's own APIs the BFF proxies to, parsed and checked (a pure parser).

Example::

    parse_upstreams('[{"name": "orders", "url": "https://orders.internal", "allow": "GET /orders/*"}]')
    # (UpstreamConfig(name="orders", prefix="/svc/orders", url="https://orders.internal", ...),)

Every problem is a ValueError of one line naming the upstream and the field; ``app.settings`` reports it
under ``BFF_UPSTREAMS`` and exits 2. What depends on other settings (``http://`` in production, keys for
``assertion``) is checked there.
"""

from __future__ import annotations

import json
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.security.allowlist import parse_rules

#: How each upstream learns who the user is (api.md §7).
TOKEN_MODES = ("assertion", "access_token", "none")
#: Prefixes the BFF's own routes hold: an upstream may neither sit on one nor under one, nor hold one.
RESERVED_PREFIXES = (
    "/auth",
    "/api",
    "/.well-known",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
)
_NAME = re.compile(r"[a-z0-9-]{1,32}")
# Plain segments only: the raw path the browser sends and its decoded form are then the same bytes, so the
# prefix can be decided on the raw path (as /api is) with no escape that could spell it differently.
_PREFIX = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+")
_FIELDS = frozenset({"name", "prefix", "url", "allow", "token", "audience", "timeout", "ca_bundle"})
#: The bounds of ``timeout``, as for ``CYBERARK_TIMEOUT``.
MAX_TIMEOUT = 300.0


@dataclass(frozen=True)
class UpstreamConfig:
    """One upstream, every default filled in except ``timeout`` (None: ``CYBERARK_TIMEOUT``)."""

    name: str
    prefix: str
    url: str
    allow: str
    #: The JSON's ``token``: assertion, access_token or none.
    mode: str = "assertion"
    audience: str = ""
    timeout: float | None = None
    ca_bundle: Path | None = None

    @property
    def route(self) -> str:
        """The access log's and metrics' route label for every call to this upstream."""
        return self.prefix + "/{path}"


def parse_upstreams(text: str) -> tuple[UpstreamConfig, ...]:
    """The upstreams of a ``BFF_UPSTREAMS`` JSON list; ValueError (one line) for the first problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise ValueError('expected a JSON list of upstreams, e.g. [{"name": "orders", ...}]')
    upstreams: list[UpstreamConfig] = []
    for index, entry in enumerate(data):
        upstream = _entry(index, entry)
        for other in upstreams:
            if other.name == upstream.name:
                raise ValueError(f"upstream {upstream.name!r}: name: used twice")
            if _overlaps(other.prefix, upstream.prefix):
                raise ValueError(
                    f"upstream {upstream.name!r}: prefix: {upstream.prefix} overlaps {other.prefix} "
                    f"of upstream {other.name!r}"
                )
        upstreams.append(upstream)
    return tuple(upstreams)


def _entry(index: int, entry: Any) -> UpstreamConfig:
    if not isinstance(entry, dict):
        raise ValueError(f"upstream #{index + 1}: expected an object with name, url and allow")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"upstream #{index + 1}: name: required, 1-32 characters of a-z, 0-9 and -")
    where = f"upstream {name!r}"
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ValueError(f"{where}: {unknown[0]}: unknown field (known: {', '.join(sorted(_FIELDS))})")
    prefix = _prefix(where, entry.get("prefix", f"/svc/{name}"))
    url = _url(where, entry.get("url"))
    allow = entry.get("allow")
    if not isinstance(allow, str):
        raise ValueError(f"{where}: allow: required, rules like 'GET /orders/*'")
    try:
        parse_rules(allow)
    except ValueError as exc:
        raise ValueError(f"{where}: allow: {exc}") from None
    mode = entry.get("token", "assertion")
    if mode not in TOKEN_MODES:
        raise ValueError(f"{where}: token: {mode!r} is not one of {', '.join(TOKEN_MODES)}")
    audience = entry.get("audience", _origin(url))
    if not isinstance(audience, str) or not audience.strip():
        raise ValueError(f"{where}: audience: a non-empty string")
    return UpstreamConfig(
        name=name,
        prefix=prefix,
        url=url,
        allow=allow,
        mode=mode,
        audience=audience,
        timeout=_timeout(where, entry.get("timeout")),
        ca_bundle=_ca_bundle(where, entry.get("ca_bundle")),
    )


def _prefix(where: str, prefix: Any) -> str:
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ValueError(f"{where}: prefix: must start with /, e.g. /svc/orders")
    for reserved in RESERVED_PREFIXES:
        if _overlaps(prefix, reserved):
            raise ValueError(f"{where}: prefix: {prefix} overlaps the BFF's own {reserved}")
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"{where}: prefix: {prefix!r} must be /segment[/segment...] of letters, digits and . _ ~ - "
            "(no trailing /, no segment starting with a dot)"
        )
    return prefix


def _overlaps(one: str, other: str) -> bool:
    """True when one prefix equals the other or lies under it (case-insensitive: never two readings)."""
    a, b = one.lower(), other.lower()
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _url(where: str, url: Any) -> str:
    if not isinstance(url, str):
        raise ValueError(f"{where}: url: required, e.g. https://orders.internal")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{where}: url: {url!r} is not an http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{where}: url: {url!r} may carry no query, fragment or user info")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ValueError(f"{where}: url: {url!r} has an invalid port") from None
    return url.rstrip("/")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _timeout(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT:
        raise ValueError(f"{where}: timeout: seconds, a number above 0 and at most {MAX_TIMEOUT:g}")
    return float(value)


def _ca_bundle(where: str, value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: ca_bundle: a path to a PEM file of CA certificates")
    try:
        # Loaded once here so that a missing or unreadable file stops start-up, not the first call.
        ssl.create_default_context(cafile=value)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ValueError(f"{where}: ca_bundle: cannot load {value} ({reason})") from None
    return Path(value)
