"""The allow-listed proxy ``/api/{path}``: plain ASGI in front of FastAPI, aiohttp to the tenant."""

from app.proxy.forward import Proxy
from app.proxy.mount import ProxyFirstFastAPI
from app.proxy.upstream import ProxyUpstream, Upstream

__all__ = ["Proxy", "ProxyFirstFastAPI", "ProxyUpstream", "Upstream"]
