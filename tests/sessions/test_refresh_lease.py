"""The refresh call ends within the lock's lease: the lock never lapses while its owner still works."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.errors import TenantTimeout
from app.sessions.refresh import LEASE_MARGIN, Refresher
from app.sessions.service import SessionService
from app.store.memory_store import MemoryStore

SECRET = b"refresh-lease-test-secret-0123456789abcdef"
USER = {"id": "u-1", "username": "jane@example.com"}


class StalledTenant:
    """A token endpoint that never answers: what httpx's per-phase timeouts let through (a slow trickle).

    No real process is needed for the point made here: the bound is the Refresher's own, whatever the call.
    """

    def __init__(self) -> None:
        self.calls = 0

    async def refresh(self, refresh_token: str) -> None:
        self.calls += 1
        await asyncio.sleep(3600)


async def test_a_stalled_refresh_gives_up_before_the_lease_lapses() -> None:
    sessions = SessionService(MemoryStore(), [SECRET], idle_timeout=600, max_lifetime=3600)
    cookie, session = await sessions.create(
        bearer="at-1",
        user=USER,
        user_agent="UA",
        ip="127.0.0.1",
        login="oauth",
        access_expires_at=time.time() + 30,  # due (within 60 s), still usable
        refresh_token="rt-1",
    )
    tenant = StalledTenant()
    lease = 3.0
    refresher = Refresher(sessions, tenant, lease=lease)  # type: ignore[arg-type]
    started = time.monotonic()
    fresh = await asyncio.wait_for(refresher.fresh(cookie, session), timeout=lease + 5)
    took = time.monotonic() - started
    # The old token is still good, so the call goes on with it; the refresh gave up inside the lease.
    assert fresh.bearer == "at-1" and tenant.calls == 1
    assert lease - LEASE_MARGIN - 0.1 <= took < lease


async def test_a_stalled_refresh_of_an_expired_token_is_a_tenant_timeout() -> None:
    sessions = SessionService(MemoryStore(), [SECRET], idle_timeout=600, max_lifetime=3600)
    cookie, session = await sessions.create(
        bearer="at-1",
        user=USER,
        user_agent="UA",
        ip="127.0.0.1",
        login="oauth",
        access_expires_at=time.time() - 1,
        refresh_token="rt-1",
    )
    refresher = Refresher(sessions, StalledTenant(), lease=3.0)  # type: ignore[arg-type]
    with pytest.raises(TenantTimeout):
        await asyncio.wait_for(refresher.fresh(cookie, session), timeout=8)
