"""The allow-listed proxy ``/api/{path}``: plain ASGI in front of FastAPI (its tenant client: identity/)."""

from app.proxy.forward import Proxy
from app.proxy.mount import ProxyFirstFastAPI

__all__ = ["Proxy", "ProxyFirstFastAPI"]
