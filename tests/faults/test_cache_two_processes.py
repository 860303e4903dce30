"""Two BFF processes (uvicorn, the session cache on) on one Redis: a session ended on one is refused by the
other on its very next request, however warm the other's copy; many rounds of logout and revocation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.faults.conftest import browser, login
from tests.support.asgi_server import ServerThread
from tests.support.bff_process import BffProcess

ROUNDS = 200
API = "/api/UPRest/GetUPData"


@pytest.fixture
def two_bffs(sim_server: ServerThread, redis_url: str) -> Iterator[tuple[BffProcess, BffProcess]]:
    one = BffProcess(sim_server.url, redis_url)
    try:
        two = BffProcess(sim_server.url, redis_url)
    except BaseException:
        one.stop()
        raise
    yield one, two
    one.stop()
    two.stop()


async def warm(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        answer = await client.post(API, json={})
        assert answer.status_code == 200, answer.text


async def test_an_ended_session_is_refused_by_the_other_process_on_its_next_request(
    two_bffs: tuple[BffProcess, BffProcess],
) -> None:
    one, two = two_bffs
    async with browser(one.url) as laptop, browser(two.url) as phone_on_two, browser(one.url) as phone_on_one:
        await login(laptop)
        for round_ in range(ROUNDS):
            phone = await login(phone_on_two)
            phone_on_one.cookies.set("bff", phone)
            await warm(phone_on_two)  # the second process's copy is warm
            await warm(phone_on_one)  # and the first's
            if round_ % 2:
                assert (await phone_on_one.post("/auth/logout")).status_code == 204  # logout on one
            else:
                listed = (await laptop.get("/auth/sessions")).json()
                phone_id = next(item["id"] for item in listed if not item["current"])
                assert (await laptop.delete(f"/auth/sessions/{phone_id}")).status_code == 204  # revoke on one
            refused = await phone_on_two.post(API, json={})
            assert refused.status_code == 401, f"round {round_}: {refused.status_code} {refused.text}"
            assert (await phone_on_two.post(API, json={})).status_code == 401
            phone_on_two.cookies.clear()
            phone_on_one.cookies.clear()
        # The laptop's own session, never ended, is still served by both.
        assert (await laptop.post(API, json={})).status_code == 200
