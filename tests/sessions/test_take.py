"""Ending a session returns the tokens its record held at the end (``SessionService.take``), so a logout
revokes what a refresh stored meanwhile; the interleavings made deterministic by a store that pauses."""

from __future__ import annotations

import asyncio

from app.sessions.service import SessionService
from tests.sessions.conftest import SECRET, Harness
from tests.sessions.test_touch import USER, PausingStore


async def oauth_session(sessions: SessionService, now: float) -> tuple[str, str]:
    cookie, session = await sessions.create(
        bearer="access-1",
        user=USER,
        user_agent="UA",
        ip="10.0.0.1",
        login="oauth",
        access_expires_at=now + 30,
        refresh_token="refresh-1",
    )
    return cookie, session.storage_key


async def test_take_returns_the_tokens_a_refresh_stored_after_the_session_was_read(harness: Harness) -> None:
    sessions = harness.sessions()
    cookie, _ = await oauth_session(sessions, harness.clock())
    read = await sessions.load(cookie, slide=False)  # what a logout read
    assert read is not None
    await sessions.store_tokens(cookie, bearer="access-2", access_expires_at=None, refresh_token="refresh-2")
    ended = await sessions.take(cookie, read)
    assert (ended.bearer, ended.refresh_token) == ("access-2", "refresh-2")
    assert await sessions.load(cookie) is None
    assert await harness.store.hgetall(sessions.index_key(USER["id"])) == {}


async def test_take_never_deletes_tokens_stored_between_its_read_and_its_delete(harness: Harness) -> None:
    paused = PausingStore(harness.store)
    sessions = SessionService(paused, [SECRET], idle_timeout=600, max_lifetime=3600, clock=harness.clock)
    cookie, key = await oauth_session(sessions, harness.clock())
    read = await sessions.load(cookie, slide=False)
    assert read is not None
    paused.pause_before_write(key)  # take's compare-and-delete waits after take has read the record
    taking = asyncio.create_task(sessions.take(cookie, read))
    await asyncio.wait_for(paused.paused.wait(), 5)
    await sessions.store_tokens(cookie, bearer="access-2", access_expires_at=None, refresh_token="refresh-2")
    paused.resume()
    ended = await asyncio.wait_for(taking, 5)
    # The record changed under it: read again, and the newest tokens are what the logout will revoke.
    assert (ended.bearer, ended.refresh_token) == ("access-2", "refresh-2")
    assert await sessions.load(cookie) is None


async def test_take_of_a_session_already_gone_returns_what_was_read(harness: Harness) -> None:
    sessions = harness.sessions()
    cookie, _ = await oauth_session(sessions, harness.clock())
    read = await sessions.load(cookie, slide=False)
    assert read is not None
    await sessions.delete(read)
    ended = await sessions.take(cookie, read)
    assert (ended.bearer, ended.refresh_token) == ("access-1", "refresh-1")
