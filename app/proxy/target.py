"""What one proxy serves: the tenant under ``/api``, or an upstream of ``BFF_UPSTREAMS`` under its prefix.

Example::

    tenant = tenant_target(settings)                          # /api -> CYBERARK_TENANT_URL, its bearer
    orders = upstream_target(config, settings, credential)    # /svc/orders -> its url, an assertion
    client = orders.open_client()                             # in the lifespan: a pooled client per origin

One :class:`~app.proxy.forward.Proxy` per target, all the same code: a target only says where calls go, what
the allow-list is, how long they may take, which CA verifies the origin and which credential goes with them.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.identity.upstream import ProxyUpstream, Upstream
from app.proxy.mount import ROUTE_LABEL
from app.security.allowlist import AllowList
from app.sessions.records import Session
from app.settings import Settings
from app.upstreams.config import UpstreamConfig

#: An upstream's bearer for a session (None: no credential); may raise TokenUnavailable.
Credential = Callable[[Session], str | None]
#: The access log's and metrics' name for the tenant.
TENANT = "tenant"


def open_client(url: str, *, timeout: float, ca_bundle: Path | None) -> ProxyUpstream:
    """The data plane's pooled client for one origin, verified against ``ca_bundle`` (None: the system's).

    The one place that picks the client class: the tenant's and every upstream's are made here.
    """
    context = ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle is not None else None
    return Upstream(url, timeout=timeout, ssl_context=context)


@dataclass(frozen=True)
class Target:
    """Where a proxy sends its calls; ``credential`` None means the tenant's own (bearer, native headers)."""

    name: str
    #: The route label of its calls (bounded: never the raw path).
    route: str
    #: The raw path prefix the browser's calls start with (``b"/api"``).
    prefix: bytes
    allow: AllowList
    url: str
    timeout: float
    ca_bundle: Path | None = None
    credential: Credential | None = None
    #: Whether OAuth sessions' access tokens are refreshed before a call (they are what it sends).
    refreshes: bool = True

    @property
    def is_tenant(self) -> bool:
        return self.credential is None

    def open_client(self) -> ProxyUpstream:
        return open_client(self.url, timeout=self.timeout, ca_bundle=self.ca_bundle)


def tenant_target(settings: Settings) -> Target:
    """``/api`` -> ``CYBERARK_TENANT_URL`` with ``BFF_PROXY_ALLOW``, ``CYBERARK_TIMEOUT``, its CA bundle."""
    return Target(
        name=TENANT,
        route=ROUTE_LABEL,
        prefix=b"/api",
        allow=AllowList.from_text(settings.bff_proxy_allow),
        url=settings.tenant_url,
        timeout=settings.cyberark_timeout,
        ca_bundle=settings.cyberark_ca_bundle,
    )


def upstream_target(config: UpstreamConfig, settings: Settings, credential: Credential) -> Target:
    """An upstream of ``BFF_UPSTREAMS`` at its prefix; ``timeout`` defaults to ``CYBERARK_TIMEOUT``."""
    return Target(
        name=config.name,
        route=config.route,
        prefix=config.prefix.encode("ascii"),
        allow=AllowList.from_text(config.allow),
        url=config.url,
        timeout=config.timeout if config.timeout is not None else settings.cyberark_timeout,
        ca_bundle=config.ca_bundle,
        credential=credential,
        refreshes=config.mode == "access_token",
    )
