"""What a copy of Redis holds, and what one ``load()`` costs there (a real redis-server)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection

from app.sessions.pre_auth import PreAuthStore
from app.sessions.service import LAST_SEEN_INTERVAL, SessionService
from app.sessions.ticket import TicketCodec
from app.store.redis_store import RedisStore
from tests.sessions.conftest import PREFIX, SECRET, FakeClock


class CountingConnection(Connection):
    """A real connection that counts the times it writes to the socket (one per round trip)."""

    sends = 0

    async def send_packed_command(self, command: object, check_health: bool = True) -> None:
        type(self).sends += 1
        await super().send_packed_command(command, check_health)  # type: ignore[arg-type]


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def counted_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(Redis.from_url(redis_url, connection_class=CountingConnection), prefix=PREFIX)
    yield store
    await store.aclose()


def encodings(secret: bytes) -> set[bytes]:
    """Every spelling of ``secret`` a cookie or a careless store could use."""
    return {
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    }


async def dump_everything(raw: Redis) -> dict[bytes, list[bytes]]:
    """Every key with every byte Redis holds for it: DUMP, plus GET or HGETALL."""
    out: dict[bytes, list[bytes]] = {}
    async for key in raw.scan_iter(match="*", count=100):
        parts = [key, await raw.dump(key)]
        kind = await raw.type(key)
        if kind == b"string":
            parts.append(await raw.get(key))
        elif kind == b"hash":
            for field, value in (await raw.hgetall(key)).items():
                parts += [field, value]
        out[key] = parts
    return out


async def test_a_copy_of_redis_holds_no_token_id_key_or_identity(
    redis_url: str, raw: Redis, user_factory: Callable[[str], dict[str, str]]
) -> None:
    store = RedisStore(Redis.from_url(redis_url), prefix=PREFIX)
    sessions = SessionService(store, [SECRET], idle_timeout=600, max_lifetime=3600)
    logins = PreAuthStore(store, [SECRET], login_timeout=300)
    codec = TicketCodec([SECRET], "session")
    secrets_at_risk: set[bytes] = set()
    for name in ("alice", "alice", "bob"):
        user = user_factory(name)
        bearer = f"ASPXAUTH-{name}-0123456789ABCDEF0123456789ABCDEF"
        cookie, session = await sessions.create(bearer=bearer, user=user, user_agent="UA", ip="10.1.2.3")
        ticket = codec.load(cookie)
        assert ticket is not None
        secrets_at_risk |= encodings(ticket.id) | encodings(ticket.key)
        secrets_at_risk |= {cookie.encode(), cookie.split(".")[0].encode(), cookie.split(".")[1].encode()}
        secrets_at_risk |= {bearer.encode(), user["email"].encode(), user["username"].encode()}
        secrets_at_risk |= {user["id"].encode(), user["display_name"].encode()}
        # The public id is the index's field name by design; the raw id must not be derivable from it.
        assert session.public_id.encode() not in encodings(ticket.id)
    await logins.begin({"tenant_session": "TENANT-SESSION-ID-42", "username": "carol@corp.example"})
    secrets_at_risk |= {b"TENANT-SESSION-ID-42", b"carol@corp.example"}

    everything = await dump_everything(raw)
    # Two user indexes, three records, one login state, and the two user names' entries (for app.admin).
    assert len(everything) == 2 + 3 + 1 + 2
    for key, parts in everything.items():
        assert key.startswith(PREFIX.encode())
        # Nothing lives forever: every key carries a TTL.
        assert await raw.pttl(key) > 0
        for part in parts:
            for secret in secrets_at_risk:
                assert secret not in part, f"{key!r} holds a secret in clear"
    await store.aclose()


async def test_load_is_one_round_trip_and_writes_only_when_the_slack_is_used_up(
    counted_store: RedisStore, raw: Redis, user_factory: Callable[[str], dict[str, str]]
) -> None:
    clock = FakeClock()
    sessions = SessionService(counted_store, [SECRET], idle_timeout=600, max_lifetime=3600, clock=clock)
    cookie, created = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")

    async def measure(slide: bool) -> tuple[int, dict[str, int]]:
        await raw.config_resetstat()
        CountingConnection.sends = 0
        assert await sessions.load(cookie, slide=slide) is not None
        sends = CountingConnection.sends
        stats = await raw.info("commandstats")
        calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items() if k != "cmdstat_info"}
        calls.pop("config|resetstat", None)
        return sends, calls

    # The first read opens the store's own connection (its handshake is not counted below).
    assert await sessions.load(cookie) is not None
    # A read is GET and PTTL, pipelined into one round trip, and no write while the slack (30 s of 600) lasts.
    assert await measure(slide=True) == (1, {"get": 1, "pttl": 1})
    assert await measure(slide=False) == (1, {"get": 1, "pttl": 1})
    # Less than idle - slack left: the sliding read pushes the timer forward (one PEXPIRE), once.
    await raw.pexpire(PREFIX + created.storage_key, 560_000)
    assert await measure(slide=False) == (1, {"get": 1, "pttl": 1})
    assert await measure(slide=True) == (2, {"get": 1, "pttl": 1, "pexpire": 1})
    assert 599_000 < await raw.pttl(PREFIX + created.storage_key) <= 600_000
    assert await measure(slide=True) == (1, {"get": 1, "pttl": 1})
    # Once a minute at most, a sliding read also records last_seen_at (record + index entry; it slides too).
    clock.advance(LAST_SEEN_INTERVAL + 1)
    # The record is rewritten by a compare-and-set script (its GET is the second get), the index entry by a
    # script that reads the index's PTTL itself (the second pttl). Each script is loaded into Redis once
    # per process: that happens here, before the count.
    await counted_store.replace_if_equal("warm-up", b"", b"", 1)
    assert await measure(slide=True) == (
        3,
        {"get": 2, "pttl": 2, "set": 1, "evalsha": 2, "hset": 1},
    )
    assert await measure(slide=True) == (1, {"get": 1, "pttl": 1})
