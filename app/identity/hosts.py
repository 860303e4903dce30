"""The user object's ``tenant``: the host of the tenant a session talks to, one format for every login kind.

Example: ``tenant_host("https://abc1234.id.cyberark.cloud")`` is ``"abc1234.id.cyberark.cloud"``;
``tenant_host("http://127.0.0.1:9001")`` is ``"127.0.0.1:9001"`` (a port only when not the default).
"""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def tenant_host(url: str) -> str:
    """``host[:port]`` of ``url`` (lower-case; IPv6 in brackets); ``url`` itself when it names no host."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return url
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{port}"
