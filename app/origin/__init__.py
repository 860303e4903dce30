"""An HTTP/1.1 client for one origin (a proxy's data plane): keep-alive pool, llhttp parser, strict checks.

``client.OriginClient`` makes the calls; ``connection.OriginResponse`` is what one gives back. It stands on
``app.errors`` alone, so any data plane (the tenant's, an upstream's) can take it.
"""
