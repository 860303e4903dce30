"""The allow-listed proxy ``/api/{path}``: plain ASGI in front of FastAPI (its tenant client: identity/).

``forward.Proxy`` is the ASGI app; ``mount.ProxyFirstFastAPI`` puts it in front of the routers.
"""
