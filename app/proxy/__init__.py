"""The allow-listed proxy ``/api/{path}``: plain ASGI in front of FastAPI, aiohttp to the tenant."""

from app.proxy.forward import Proxy
from app.proxy.middleware import ProxyFirstFastAPI
from app.proxy.upstream import Upstream

__all__ = ["Proxy", "ProxyFirstFastAPI", "Upstream"]
