"""Redis stopped under traffic: 503 store_unavailable + Retry-After, /readyz 503, no 500, no hung request."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx

from tests.faults.conftest import StartBff, browser, login, wait_until
from tests.support.redis_server import RedisServer

#: Every request answers within this many seconds, outage or not (store timeout 2 s, one quick retry).
ANSWER_BOUND = 5.0


class Traffic:
    """A browser hitting ``GET /auth/session`` in a loop; records (status, seconds) of every answer."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.answers: list[tuple[int, float]] = []
        self._stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            response = await self.client.get("/auth/session", params={"slide": "false"})
            self.answers.append((response.status_code, time.monotonic() - started))
            await asyncio.sleep(0.02)

    def start(self) -> Traffic:
        self.task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        self._stop.set()
        assert self.task is not None
        await self.task


async def assert_store_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.json()["error"] == "store_unavailable"
    assert response.headers["retry-after"].isdigit() and int(response.headers["retry-after"]) >= 1


async def test_redis_stopped_answers_503_then_recovers_alone(
    own_redis: RedisServer, start_bff: StartBff
) -> None:
    bff = start_bff(bff_redis_url=own_redis.url)
    async with browser(bff.url) as client, browser(bff.url) as watcher:
        await login(client)
        traffic = Traffic(watcher)
        watcher.cookies.set("bff", client.cookies["bff"])
        traffic.start()
        await asyncio.sleep(0.2)

        own_redis.stop()
        calls = [
            client.build_request("GET", "/auth/session"),
            client.build_request("GET", "/auth/sessions"),
            client.build_request("DELETE", "/auth/sessions/" + "0" * 32),
            client.build_request("POST", "/auth/logout"),
            client.build_request("POST", "/auth/login", json={"username": "alice@example.com"}),
        ]
        for request in calls:
            started = time.monotonic()
            response = await client.send(request)
            assert time.monotonic() - started < ANSWER_BOUND
            await assert_store_unavailable(response)
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"] == "2"
        assert ready.json() == {"status": "unavailable", "store": "unavailable"}
        assert (await client.get("/healthz")).status_code == 200
        await asyncio.sleep(0.5)

        own_redis.start()  # same port, no persistence: the old sessions are gone

        async def ready_again() -> bool:
            return (await client.get("/readyz")).status_code == 200

        recovered_in = await wait_until(ready_again, timeout=10)
        await traffic.stop()

    statuses = {status for status, _ in traffic.answers}
    # 200 before the stop, 503 during, 401 after (the restarted Redis lost the session); never a 500.
    assert 503 in statuses and statuses <= {200, 401, 503}, statuses
    assert max(seconds for _, seconds in traffic.answers) < ANSWER_BOUND
    assert recovered_in < 10
    # The same BFF, never restarted, logs a new user in on the new Redis.
    async with browser(bff.url) as fresh:
        await login(fresh)
        assert (await fresh.get("/auth/session")).json()["authenticated"] is True


async def test_hung_redis_answers_503_within_the_store_timeout(
    own_redis: RedisServer, start_bff: StartBff
) -> None:
    bff = start_bff(bff_redis_url=own_redis.url)
    async with browser(bff.url) as client:
        await login(client)
        assert own_redis.proc is not None
        own_redis.proc.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            response = await client.get("/auth/session")
            took = time.monotonic() - started
        finally:
            own_redis.proc.send_signal(signal.SIGCONT)
        await assert_store_unavailable(response)
        assert took < ANSWER_BOUND + 2
        # The session was never lost: Redis only paused.
        assert (await client.get("/auth/session")).status_code == 200
