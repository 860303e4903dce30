"""One conformance suite, run against every store: the memory store and a real redis-server."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.errors import NoLoginInProgress
from app.sessions.records import Session
from app.sessions.service import LAST_SEEN_INTERVAL, SessionService, idle_slack
from app.sessions.ticket import TicketCodec
from tests.sessions.conftest import OLD_SECRET, PREFIX, SECRET, Harness

UserFactory = Callable[[str], dict[str, str]]


async def new_session(
    harness: Harness, user: dict[str, str], *, ua: str = "Firefox", **kw: Any
) -> tuple[SessionService, str, Session]:
    service = harness.sessions(**kw)
    cookie, session = await service.create(
        bearer="BEARER-" + user["id"], user=user, user_agent=ua, ip="10.0.0.7"
    )
    return service, cookie, session


# Store level ----------------------------------------------------------------------------------------


async def test_store_set_get_delete(harness: Harness) -> None:
    store = harness.store
    assert await store.get("k") is None
    assert await store.set("k", b"v1", 60) is True
    assert await store.get("k") == b"v1"
    assert await store.delete("k") is True
    assert await store.delete("k") is False
    assert await store.get("k") is None


async def test_store_set_only_if_exists_never_recreates(harness: Harness) -> None:
    store = harness.store
    assert await store.set("k", b"v", 60, only_if_exists=True) is False
    assert await store.get("k") is None
    await store.set("k", b"v", 60)
    assert await store.set("k", b"w", 60, only_if_exists=True) is True
    assert await store.get("k") == b"w"


async def test_store_ttl_expires_and_expire_slides(harness: Harness) -> None:
    store = harness.store
    await store.set("gone", b"x", 1)
    await store.set("slid", b"y", 1)
    value, ttl = await store.get_with_ttl("slid")
    assert value == b"y" and ttl is not None and 0 < ttl <= 1
    await harness.elapse(0.7)
    assert await store.expire("slid", 1) is True
    await harness.elapse(0.7)
    assert await store.get("gone") is None
    assert await store.get("slid") == b"y"
    assert await store.get_with_ttl("gone") == (None, None)
    assert await store.expire("gone", 5) is False


async def test_replace_if_equal_writes_only_over_the_value_read(harness: Harness) -> None:
    store = harness.store
    assert await store.replace_if_equal("k", b"old", b"new", 60) is False  # nothing there: nothing made
    assert await store.get("k") is None
    await store.set("k", b"old", 60)
    assert await store.replace_if_equal("k", b"other", b"new", 60) is False
    assert await store.get("k") == b"old"
    assert await store.replace_if_equal("k", b"old", b"new", 30) is True
    assert await store.get("k") == b"new"
    ttl = await store.ttl("k")
    assert ttl is not None and 0 < ttl <= 30


async def test_store_exists_many(harness: Harness) -> None:
    store = harness.store
    await store.set("a", b"1", 60)
    await store.set("c", b"3", 60)
    assert await store.exists_many(["a", "b", "c"]) == [True, False, True]
    assert await store.exists_many([]) == []


async def test_store_hash_ttl_is_extended_never_shortened(harness: Harness) -> None:
    store = harness.store
    await store.hset("h", "f1", b"one", min_ttl=1)
    await store.hset("h", "f2", b"two", min_ttl=60)
    await store.hset("h", "f3", b"three", min_ttl=1)
    assert await store.hgetall("h") == {"f1": b"one", "f2": b"two", "f3": b"three"}
    assert await store.hget("h", "f2") == b"two"
    assert await store.hget("h", "nope") is None
    await harness.elapse(1.2)
    # The 60 s from f2 still holds: the later min_ttl=1 did not shorten it.
    assert await store.hget("h", "f1") == b"one"
    assert await store.hdel("h", "f1", "nope") == 1
    assert await store.hdel("h", "f2", "f3") == 2
    assert await store.hgetall("h") == {}
    assert await store.hdel("h", "f1") == 0


async def test_store_hash_expires(harness: Harness) -> None:
    await harness.store.hset("h", "f", b"v", min_ttl=1)
    await harness.elapse(1.2)
    assert await harness.store.hgetall("h") == {}


async def test_store_incr_window(harness: Harness) -> None:
    store = harness.store
    assert [await store.incr("rl", 1) for _ in range(3)] == [1, 2, 3]
    await harness.elapse(0.6)
    # Later increments do not push the window's end.
    assert await store.incr("rl", 1) == 4
    await harness.elapse(0.6)
    assert await store.incr("rl", 1) == 1


async def test_store_ttl(harness: Harness) -> None:
    store = harness.store
    assert await store.ttl("nothing") is None
    await store.set("k", b"v", 30)
    await store.hset("h", "f", b"v", min_ttl=40)
    k_ttl, h_ttl = await store.ttl("k"), await store.ttl("h")
    assert k_ttl is not None and 29 < k_ttl <= 30
    assert h_ttl is not None and 39 < h_ttl <= 40


async def test_store_ping(harness: Harness) -> None:
    """A ping answers while the store is up, asks the server itself, and leaves the data as it was."""
    store = harness.store
    await store.set("k", b"v", 30)
    pings = await _redis_pings(harness)
    assert await store.ping() is None
    assert await store.get("k") == b"v"
    if harness.raw is not None:
        assert await _redis_pings(harness) == pings + 1
        assert await harness.raw.dbsize() == 1


async def _redis_pings(harness: Harness) -> int:
    """How many PINGs the redis-server has answered (0 for the memory store, which has no server)."""
    if harness.raw is None:
        return 0
    stats = await harness.raw.info("commandstats")
    return int(stats.get("cmdstat_ping", {}).get("calls", 0))


# Sessions -------------------------------------------------------------------------------------------


async def test_create_and_load(harness: Harness, user_factory: UserFactory) -> None:
    user = user_factory("alice")
    started = time.monotonic()
    service, cookie, created = await new_session(harness, user, idle=600, max_lifetime=3600)
    now = harness.clock()
    loaded = await service.load(cookie)
    # Within the slack a read does not slide: it reports the TTL the store has left, and Redis counts it
    # down in real time (which the fake clock does not see).
    real_elapsed = time.monotonic() - started if harness.raw is not None else 0.0
    assert loaded is not None
    assert loaded.bearer == "BEARER-" + user["id"]
    assert loaded.user == user
    assert loaded.user_agent == "Firefox" and loaded.ip == "10.0.0.7"
    assert loaded.public_id == created.public_id
    assert len(loaded.public_id) == 32 and int(loaded.public_id, 16) >= 0
    assert len(loaded.log_id) == 16 and loaded.log_id not in cookie and loaded.public_id not in cookie
    assert loaded.created_at == pytest.approx(now)
    assert loaded.expires_at == pytest.approx(now + 3600, abs=0.01)
    assert now + 600 - real_elapsed - 0.01 <= loaded.idle_expires_at <= now + 600 + 0.01
    assert "BEARER" not in repr(loaded)


async def test_load_refuses_what_is_not_a_live_cookie(harness: Harness, user_factory: UserFactory) -> None:
    service, cookie, session = await new_session(harness, user_factory("alice"))
    assert await service.load(None) is None
    assert await service.load("") is None
    assert await service.load(cookie[:-1]) is None
    assert await service.load(cookie + "x") is None
    await service.delete(session)
    assert await service.load(cookie) is None


async def test_slide_extends_the_idle_timer(harness: Harness, user_factory: UserFactory) -> None:
    service, cookie, _ = await new_session(harness, user_factory("alice"), idle=2)
    await harness.elapse(1.2)
    touched = await service.load(cookie)
    assert touched is not None
    assert touched.idle_expires_at == pytest.approx(harness.clock() + 2, abs=0.01)
    await harness.elapse(1.2)
    # 2.4 s after creation, alive only because the read slid the 2 s idle timer.
    assert await service.load(cookie) is not None


async def test_slides_are_coalesced_within_the_slack(harness: Harness, user_factory: UserFactory) -> None:
    # idle 2 s: slack = min(max(30 s, 2 %), idle / 4) = 0.5 s, so a read slides only when < 1.5 s is left.
    service, cookie, created = await new_session(harness, user_factory("alice"), idle=2)
    assert service.slack == 0.5
    await harness.elapse(0.3)
    early = await service.load(cookie)
    assert early is not None
    # Not pushed: the store's TTL and the reported deadline are the creation's.
    assert early.idle_expires_at == pytest.approx(created.idle_expires_at, abs=0.15)
    ttl = await harness.store.ttl(created.storage_key)
    assert ttl is not None and ttl < 1.8
    await harness.elapse(0.4)
    late = await service.load(cookie)
    assert late is not None
    assert late.idle_expires_at == pytest.approx(harness.clock() + 2, abs=0.01)
    ttl = await harness.store.ttl(created.storage_key)
    assert ttl is not None and ttl > 1.9


async def test_requests_closer_than_three_quarters_of_idle_keep_a_session(
    harness: Harness, user_factory: UserFactory
) -> None:
    service, cookie, _ = await new_session(harness, user_factory("alice"), idle=2)
    for _ in range(4):  # 5.6 s in all, each gap 1.4 s < 1.5 s = idle - slack
        await harness.elapse(1.4)
        assert await service.load(cookie) is not None
    # And the idle timeout still holds within its slack: 2 s without a request ends it.
    await harness.elapse(2.05)
    assert await service.load(cookie) is None


def test_idle_slack_follows_the_spec() -> None:
    assert idle_slack(600) == 30  # the floor
    assert idle_slack(1800) == 36  # the default idle timeout: 2 %
    assert idle_slack(7200) == 144  # 2 % of a long one
    assert idle_slack(60) == 15  # never more than a quarter
    assert idle_slack(2) == 0.5


async def test_reading_without_slide_does_not_extend(harness: Harness, user_factory: UserFactory) -> None:
    service, cookie, created = await new_session(harness, user_factory("alice"), idle=2)
    await harness.elapse(1.2)
    peeked = await service.load(cookie, slide=False)
    assert peeked is not None
    assert peeked.idle_expires_at == pytest.approx(created.idle_expires_at, abs=0.3)
    await harness.elapse(1.2)
    assert await service.load(cookie, slide=False) is None


async def test_idle_expiry(harness: Harness, user_factory: UserFactory) -> None:
    service, cookie, _ = await new_session(harness, user_factory("alice"), idle=1)
    await harness.elapse(1.3)
    assert await service.load(cookie) is None


async def test_absolute_expiry_caps_ttl_and_is_checked_in_code(
    harness: Harness, user_factory: UserFactory
) -> None:
    service, cookie, created = await new_session(harness, user_factory("alice"), idle=100, max_lifetime=200)
    harness.clock.advance(90)
    assert await service.load(cookie) is not None
    harness.clock.advance(90)
    late = await service.load(cookie)
    assert late is not None
    # 20 s left of the lifetime: the idle timer (and the store's TTL) must not reach past it.
    assert late.idle_expires_at == pytest.approx(created.expires_at, abs=0.01)
    _, ttl = await harness.store.get_with_ttl(late.storage_key)
    assert ttl is not None and 15 < ttl <= 20.01
    harness.clock.advance(20.5)
    # Redis still holds the record (real time barely moved); the code refuses it by the clock.
    assert await service.load(cookie) is None
    assert await service.load(cookie, slide=False) is None


async def test_delete_ends_record_and_index_entry(harness: Harness, user_factory: UserFactory) -> None:
    user = user_factory("alice")
    service, cookie, session = await new_session(harness, user)
    _, other_cookie, other = await new_session(harness, user)
    await service.delete(session)
    assert await service.load(cookie) is None
    assert await harness.store.get(session.storage_key) is None
    assert set(await harness.store.hgetall(service.index_key(user["id"]))) == {other.public_id}
    assert await service.load(other_cookie) is not None


async def test_listing_shows_own_user_sessions_and_flags_current(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice, bob = user_factory("alice"), user_factory("bob")
    service, _, first = await new_session(harness, alice, ua="Firefox")
    harness.clock.advance(1)
    _, cookie, second = await new_session(harness, alice, ua="Safari")
    await new_session(harness, bob, ua="Edge")
    current = await service.load(cookie)
    assert current is not None
    listing = await service.list_for(current)
    assert [(i.id, i.current, i.user_agent, i.ip) for i in listing] == [
        (first.public_id, False, "Firefox", "10.0.0.7"),
        (second.public_id, True, "Safari", "10.0.0.7"),
    ]
    assert listing[0].created_at == pytest.approx(first.created_at)
    assert listing[1].last_seen_at == pytest.approx(current.last_seen_at)


async def test_listing_prunes_expired_sessions_from_the_index(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice = user_factory("alice")
    service, _, older = await new_session(harness, alice, idle=1.5)
    await harness.elapse(1.0)
    _, cookie, newer = await new_session(harness, alice, idle=1.5)
    await harness.elapse(0.8)
    # older idled out (1.8 s > 1.5 s); its index line still exists until a listing notices.
    index = service.index_key(alice["id"])
    assert set(await harness.store.hgetall(index)) == {older.public_id, newer.public_id}
    current = await service.load(cookie)
    assert current is not None
    assert [i.id for i in await service.list_for(current)] == [newer.public_id]
    assert set(await harness.store.hgetall(index)) == {newer.public_id}


async def test_listing_prunes_sessions_past_their_absolute_expiry(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice = user_factory("alice")
    service, _, older = await new_session(harness, alice, idle=100, max_lifetime=150)
    harness.clock.advance(90)
    _, cookie, newer = await new_session(harness, alice, idle=100, max_lifetime=150)
    harness.clock.advance(70)
    current = await service.load(cookie)
    assert current is not None
    assert [i.id for i in await service.list_for(current)] == [newer.public_id]
    assert set(await harness.store.hgetall(service.index_key(alice["id"]))) == {newer.public_id}


async def test_index_lives_as_long_as_the_newest_session(harness: Harness, user_factory: UserFactory) -> None:
    alice = user_factory("alice")
    service, _, _ = await new_session(harness, alice, max_lifetime=3600)
    ttl = await harness.store.ttl(service.index_key(alice["id"]))
    assert ttl is not None and 3590 < ttl <= 3600


async def test_revoke_own_session(harness: Harness, user_factory: UserFactory) -> None:
    alice = user_factory("alice")
    service, cookie, me = await new_session(harness, alice)
    _, other_cookie, other = await new_session(harness, alice)
    assert await service.revoke(me, other.public_id) is True
    assert await service.load(other_cookie) is None
    assert [i.id for i in await service.list_for(me)] == [me.public_id]
    assert await service.revoke(me, other.public_id) is False
    assert await service.load(cookie) is not None


async def test_revoke_refuses_another_users_session(harness: Harness, user_factory: UserFactory) -> None:
    service, _, alice = await new_session(harness, user_factory("alice"))
    _, bob_cookie, bob = await new_session(harness, user_factory("bob"))
    assert await service.revoke(alice, bob.public_id) is False
    assert await service.revoke(alice, "not-a-public-id") is False
    assert await service.revoke(alice, "0" * 32) is False
    assert await service.load(bob_cookie) is not None


async def test_last_seen_is_written_lazily(harness: Harness, user_factory: UserFactory) -> None:
    service, cookie, created = await new_session(harness, user_factory("alice"))
    stored = await harness.store.get(created.storage_key)
    harness.clock.advance(LAST_SEEN_INTERVAL / 2)
    early = await service.load(cookie)
    assert early is not None and early.last_seen_at == created.last_seen_at
    assert await harness.store.get(created.storage_key) == stored
    harness.clock.advance(LAST_SEEN_INTERVAL / 2 + 1)
    late = await service.load(cookie)
    assert late is not None and late.last_seen_at == pytest.approx(harness.clock())
    assert await harness.store.get(created.storage_key) != stored
    again = await service.load(cookie, slide=False)
    assert again is not None and again.last_seen_at == pytest.approx(harness.clock())
    # The listing (other devices' view) sees the new last_seen_at too.
    listing = await service.list_for(created)
    assert listing[0].last_seen_at == pytest.approx(harness.clock())


async def test_rotated_secrets_still_open_cookies_and_index(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice = user_factory("alice")
    old = harness.sessions(secrets=[OLD_SECRET])
    cookie, first = await old.create(bearer="b1", user=alice, user_agent="ua", ip="1.1.1.1")
    rotated = harness.sessions(secrets=[SECRET, OLD_SECRET])
    loaded = await rotated.load(cookie)
    assert loaded is not None and loaded.public_id == first.public_id
    _, second = await rotated.create(bearer="b2", user=alice, user_agent="ua", ip="1.1.1.1")
    assert {i.id for i in await rotated.list_for(second)} == {first.public_id, second.public_id}
    assert await harness.sessions(secrets=[SECRET]).load(cookie) is None


# The user index: named by a keyed hash, pruned at every login, capped per user ----------------------


async def test_user_index_is_named_by_a_keyed_hash_not_a_plain_hash_of_the_user_id(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice = user_factory("alice")
    service, _, _ = await new_session(harness, alice)
    index = service.index_key(alice["id"])
    assert await harness.store.hgetall(index)
    plain = {
        hashlib.sha256(alice["id"].encode()).hexdigest(),
        hashlib.sha256(b"bff-user\x00" + alice["id"].encode()).hexdigest(),  # the name before this change
    }
    keys = await harness.keys()
    assert PREFIX + index in keys
    assert not any(digest in key for key in keys for digest in plain)
    # Another secret names another index: without the secret, a known user id finds nothing.
    assert harness.sessions(secrets=[OLD_SECRET]).index_key(alice["id"]) != index
    assert harness.sessions(secrets=[SECRET]).index_key(alice["id"]) == index
    assert service.index_key(user_factory("bob")["id"]) != index


async def test_ending_and_revoking_reach_the_index_named_under_an_older_secret(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice = user_factory("alice")
    old = harness.sessions(secrets=[OLD_SECRET])
    _, first = await old.create(bearer="b1", user=alice, user_agent="ua", ip="1.1.1.1")
    _, second = await old.create(bearer="b2", user=alice, user_agent="ua", ip="1.1.1.1")
    rotated = harness.sessions(secrets=[SECRET, OLD_SECRET])
    _, mine = await rotated.create(bearer="b3", user=alice, user_agent="ua", ip="1.1.1.1")
    assert rotated.index_key(alice["id"]) != old.index_key(alice["id"])
    assert await rotated.revoke(mine, first.public_id) is True
    assert await harness.store.get(first.storage_key) is None
    second_now = await rotated.load(
        (await old.create(bearer="b4", user=alice, user_agent="ua", ip="1.1.1.1"))[0]
    )
    assert second_now is not None
    await rotated.delete(second_now)
    assert set(await harness.store.hgetall(old.index_key(alice["id"]))) == {second.public_id}
    assert {i.id for i in await rotated.list_for(mine)} == {second.public_id, mine.public_id}


async def test_a_login_prunes_lines_of_expired_sessions_from_the_index(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice = user_factory("alice")
    service = harness.sessions(max_lifetime=100)
    # 120 logins, each past the previous one's absolute expiry: the index keeps only the live one.
    for n in range(120):
        harness.clock.advance(101 if n else 0)
        _, last = await service.create(bearer="b", user=alice, user_agent="ua", ip="10.0.0.7")
    assert set(await harness.store.hgetall(service.index_key(alice["id"]))) == {last.public_id}
    # Sessions whose records are gone (idled out, ended elsewhere) are pruned too.
    ended = [
        (await service.create(bearer="b", user=alice, user_agent="ua", ip="1.1.1.1"))[1] for _ in range(3)
    ]
    for session in ended:
        await harness.store.delete(session.storage_key)
    _, newest = await service.create(bearer="b", user=alice, user_agent="ua", ip="1.1.1.1")
    assert set(await harness.store.hgetall(service.index_key(alice["id"]))) == {
        last.public_id,
        newest.public_id,
    }


async def test_sessions_per_user_are_capped_and_the_oldest_is_ended(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice, bob = user_factory("alice"), user_factory("bob")
    service = harness.sessions(max_per_user=3)
    _, bobs = await service.create(bearer="b", user=bob, user_agent="ua", ip="1.1.1.1")
    made: list[tuple[str, Session]] = []
    for _ in range(5):
        made.append(await service.create(bearer="b", user=alice, user_agent="ua", ip="1.1.1.1"))
        harness.clock.advance(1)
    kept = [session.public_id for _, session in made[2:]]
    assert sorted(await harness.store.hgetall(service.index_key(alice["id"]))) == sorted(kept)
    for cookie, session in made[:2]:
        assert await service.load(cookie) is None  # ended, not just unlisted
        assert await harness.store.get(session.storage_key) is None
    current = await service.load(made[-1][0])
    assert current is not None
    assert [info.id for info in await service.list_for(current)] == kept
    # Another user's sessions are not counted with hers.
    assert [info.id for info in await service.list_for(bobs)] == [bobs.public_id]


async def test_the_cap_counts_and_ends_sessions_indexed_before_a_secret_rotation(
    harness: Harness, user_factory: UserFactory
) -> None:
    alice = user_factory("alice")
    old = harness.sessions(secrets=[OLD_SECRET])
    old_cookie, oldest = await old.create(bearer="b", user=alice, user_agent="ua", ip="1.1.1.1")
    harness.clock.advance(1)
    _, older = await old.create(bearer="b", user=alice, user_agent="ua", ip="1.1.1.1")
    harness.clock.advance(1)
    rotated = harness.sessions(secrets=[SECRET, OLD_SECRET], max_per_user=2)
    _, newest = await rotated.create(bearer="b", user=alice, user_agent="ua", ip="1.1.1.1")
    assert await rotated.load(old_cookie) is None
    assert set(await harness.store.hgetall(old.index_key(alice["id"]))) == {older.public_id}
    assert [i.id for i in await rotated.list_for(newest)] == [older.public_id, newest.public_id]
    # Revoking and ending reach the index named under the old secret too.
    assert await rotated.revoke(newest, older.public_id) is True
    assert await harness.store.hgetall(old.index_key(alice["id"])) == {}
    assert oldest.public_id not in await harness.store.hgetall(rotated.index_key(alice["id"]))


# Pre-auth state ------------------------------------------------------------------------------------


async def test_login_state_begin_load_save_end(harness: Harness) -> None:
    logins = harness.logins()
    state = {"tenant_session": "TENANT-SID", "challenge": 0, "mechanisms": {"m0": "MECH"}, "cookies": {}}
    cookie = await logins.begin(state)
    assert await logins.load(cookie) == state
    await logins.save(cookie, {**state, "challenge": 1})
    assert await logins.load(cookie) == {**state, "challenge": 1}
    await logins.end(cookie)
    assert await logins.load(cookie) is None
    with pytest.raises(NoLoginInProgress):
        await logins.save(cookie, state)
    assert await logins.load(cookie) is None
    await logins.end(cookie)
    await logins.end(None)


async def test_login_state_expires(harness: Harness) -> None:
    logins = harness.logins(timeout=1)
    cookie = await logins.begin({"n": 1})
    await harness.elapse(1.3)
    assert await logins.load(cookie) is None
    with pytest.raises(NoLoginInProgress):
        await logins.save(cookie, {"n": 2})


async def test_login_state_save_keeps_the_deadline_of_begin(harness: Harness) -> None:
    logins = harness.logins(timeout=100)
    cookie = await logins.begin({"n": 1})
    harness.clock.advance(90)
    await logins.save(cookie, {"n": 2})
    ticket = TicketCodec([SECRET], "login").load(cookie)
    assert ticket is not None
    ttl = await harness.store.ttl("l:" + ticket.storage_hash)
    assert ttl is not None and 5 < ttl <= 10.01
    harness.clock.advance(10.5)
    assert await logins.load(cookie) is None


async def test_concurrent_oob_counts_of_one_login_each_get_their_own_number(harness: Harness) -> None:
    logins = harness.logins(timeout=100)
    cookie = await logins.begin({"n": 1})
    other = await logins.begin({"n": 2})
    counts = await asyncio.gather(*(logins.count_oob(cookie) for _ in range(40)))
    assert sorted(counts) == list(range(1, 41))
    assert await logins.count_oob(other) == 1  # per login
    ticket = TicketCodec([SECRET], "login").load(cookie)
    assert ticket is not None
    ttl = await harness.store.ttl("rl:oob-login:" + ticket.storage_hash)
    assert ttl is not None and 99 < ttl <= 100.01  # it ends with the login
    await logins.end(cookie)
    with pytest.raises(NoLoginInProgress):
        await logins.count_oob("not a login cookie")


async def test_session_and_login_cookies_are_not_interchangeable(
    harness: Harness, user_factory: UserFactory
) -> None:
    service, session_cookie, _ = await new_session(harness, user_factory("alice"))
    logins = harness.logins()
    login_cookie = await logins.begin({"n": 1})
    assert await service.load(login_cookie) is None
    assert await logins.load(session_cookie) is None
    with pytest.raises(NoLoginInProgress):
        await logins.save(session_cookie, {"n": 2})


async def test_a_name_leads_to_every_user_who_signed_in_under_it(
    harness: Harness, user_factory: UserFactory
) -> None:
    # A federated login may type one name and end as another user: the operator's revoke of that name must
    # not miss the user it was meant for (the last login used to win), so it ends both.
    sessions = harness.sessions()
    alice, bob, carol = user_factory("alice"), user_factory("bob"), user_factory("carol")
    await sessions.create(bearer="a", user=alice, user_agent="UA", ip="10.0.0.1")
    await sessions.create(bearer="b", user=bob, user_agent="UA", ip="10.0.0.2", login_name=alice["username"])
    _, kept = await sessions.create(bearer="c", user=carol, user_agent="UA", ip="10.0.0.3")
    assert len(await sessions.index.sessions_of_user(alice["username"].upper())) == 2
    assert await sessions.index.revoke_user(alice["username"]) == 2
    assert await sessions.index.sessions_of_user(alice["username"]) == []
    assert await sessions.index.sessions_of_user(bob["id"]) == []
    assert [info.id for info in await sessions.index.sessions_of_user(carol["username"])] == [kept.public_id]
