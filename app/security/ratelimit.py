"""Fixed-window rate limits kept in the session store, so every replica counts the same attempts.

Example::

    limiter = RateLimiter(store, keyring)
    await limiter.hit("login-ip", "203.0.113.9", RateLimit(10, 60))   # raises RateLimited when over

Buckets are named by a keyed hash of the client IP or username: the store never shows either. A fixed window
costs one atomic INCR (with its expiry) per attempt; the burst it allows at a window's edge (up to twice the
limit) is acceptable for login throttling, where the tenant's own lockout stands behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.errors import RateLimited
from app.sessions.keyring import Keyring
from app.settings import RateLimit
from app.store.protocol import Store


class RateLimiter:
    """Counts attempts per (scope, value) in windows of ``limit.seconds``."""

    def __init__(self, store: Store, keyring: Keyring, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.keyring = keyring
        self.clock = clock

    async def hit(self, scope: str, value: str, limit: RateLimit) -> None:
        """Count one attempt; raise :class:`RateLimited` (with the seconds to the window's end) when over."""
        now = self.clock()
        window = int(now // limit.seconds)
        key = f"rl:{scope}:{self.keyring.bucket(value)}:{window}"
        count = await self.store.incr(key, ttl=limit.seconds)
        if count > limit.attempts:
            raise RateLimited(retry_after=(window + 1) * limit.seconds - now)
