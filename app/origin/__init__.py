"""An HTTP/1.1 client for one origin (a proxy's data plane): keep-alive pool, llhttp parser, strict checks."""

from app.origin.client import IDEMPOTENT, KEEPALIVE_SECONDS, POOL_SIZE, Body, OriginClient
from app.origin.connection import MAX_FIELD_BYTES, MAX_HEAD_BYTES, OriginResponse

__all__ = [
    "IDEMPOTENT",
    "KEEPALIVE_SECONDS",
    "MAX_FIELD_BYTES",
    "MAX_HEAD_BYTES",
    "POOL_SIZE",
    "Body",
    "OriginClient",
    "OriginResponse",
]
