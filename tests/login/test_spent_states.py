"""One-time OAuth states on every store: the first callback spends a state, every later one (any replica,
any number at once) finds it spent until the login cookie would have expired."""

from __future__ import annotations

import asyncio

from app.login.oauth import SpentStates
from tests.sessions.conftest import Harness

STATE = "Zq3v0d9m8Yk2N4Jx7Qp1Lr5Tb6Wc8Eh0Ua2Sg4Df6Gi"


async def test_a_state_is_spent_once(harness: Harness) -> None:
    spent = SpentStates(harness.store)
    now = harness.clock()
    assert await spent.spend(STATE, until=now + 300, now=now) is True
    assert await spent.spend(STATE, until=now + 300, now=now) is False
    assert await spent.spend(STATE + "x", until=now + 300, now=now) is True  # another login's state


async def test_parallel_callbacks_with_one_state_spend_it_once(harness: Harness) -> None:
    spent = [SpentStates(harness.store) for _ in range(2)]  # two replicas' views of one store
    now = harness.clock()
    won = await asyncio.gather(*(spent[i % 2].spend(STATE, until=now + 300, now=now) for i in range(20)))
    assert won.count(True) == 1


async def test_a_spent_state_is_kept_until_its_login_cookie_expires_and_holds_no_state(
    harness: Harness,
) -> None:
    spent = SpentStates(harness.store)
    now = harness.clock()
    assert await spent.spend(STATE, until=now + 0.3, now=now) is True
    keys = [k for k in await harness.keys() if ":o:" in k]
    assert len(keys) == 1 and STATE not in keys[0]
    ttl = await harness.store.ttl(keys[0].removeprefix(harness.store.prefix))
    assert ttl is not None and 0 < ttl <= 1.0  # never below a second: the cookie's last instant is covered
    await harness.elapse(1.2)
    assert await harness.keys() == []
