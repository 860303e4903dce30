"""One step at a time per login (PreAuthStore.one_step), on the memory store and a real Redis: the lease, its
release, its lapse when its holder died, and a step cut off before it could outrun its lease."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import NoLoginInProgress, StepInProgress, TenantTimeout
from app.sessions.pre_auth import PreAuthStore
from tests.sessions.conftest import PREFIX, SECRET, Harness


def logins(harness: Harness, *, step_lease: float = 30) -> PreAuthStore:
    return PreAuthStore(
        harness.store, [SECRET], login_timeout=300, step_lease=step_lease, clock=harness.clock
    )


async def test_a_second_step_of_a_login_is_refused_while_the_first_runs(harness: Harness) -> None:
    store = logins(harness)
    cookie, other = await store.begin({"n": 1}), await store.begin({"n": 2})
    async with store.one_step(cookie):
        with pytest.raises(StepInProgress):
            async with store.one_step(cookie):
                pytest.fail("a second step ran")
        async with store.one_step(other):  # another login is not held up
            pass
    async with store.one_step(cookie):  # released at the end of the step, whatever it answered
        pass
    with pytest.raises(RuntimeError):
        async with store.one_step(cookie):
            raise RuntimeError("the step failed")
    async with store.one_step(cookie):
        pass


async def test_concurrent_steps_of_one_login_let_exactly_one_through(harness: Harness) -> None:
    store = logins(harness)
    cookie = await store.begin({"n": 1})
    entered = 0
    release = asyncio.Event()

    async def step() -> str:
        nonlocal entered
        try:
            async with store.one_step(cookie):
                entered += 1
                await release.wait()
                return "ran"
        except StepInProgress:
            return "refused"

    tasks = [asyncio.create_task(step()) for _ in range(40)]
    while sum(t.done() for t in tasks) < 39:
        await asyncio.sleep(0.01)
    release.set()
    outcomes = await asyncio.gather(*tasks)
    assert sorted(outcomes) == ["ran"] + ["refused"] * 39 and entered == 1


async def test_a_lease_whose_holder_died_lapses(harness: Harness) -> None:
    store = logins(harness, step_lease=2.5)
    cookie = await store.begin({"n": 1})
    (state_key,) = [k for k in await harness.keys() if k.startswith(PREFIX + "l:")]
    # A replica that took the lease and died mid-step: its lease stays, and nobody releases it.
    lease = "ls:" + state_key.removeprefix(PREFIX + "l:")
    assert await harness.store.set_if_absent(lease, b"a replica that died", 2.5)
    with pytest.raises(StepInProgress):
        async with store.one_step(cookie):
            pass
    await harness.elapse(2.6)
    async with store.one_step(cookie):
        pass


async def test_a_step_is_cut_off_before_its_lease_runs_out(harness: Harness) -> None:
    store = logins(harness, step_lease=2.5)
    cookie = await store.begin({"n": 1})
    with pytest.raises(TenantTimeout):
        async with store.one_step(cookie):
            await asyncio.sleep(5)  # a tenant call that never ends
    async with store.one_step(cookie):  # and its lease was released
        pass


async def test_a_step_without_a_live_login_is_no_login_in_progress(harness: Harness) -> None:
    store = logins(harness)
    for cookie in (None, "", "not-a-login-cookie"):
        with pytest.raises(NoLoginInProgress):
            async with store.one_step(cookie):
                pass


async def test_pin_answers_are_counted_per_login(harness: Harness) -> None:
    store = logins(harness)
    cookie, other = await store.begin({"n": 1}), await store.begin({"n": 2})
    counts = await asyncio.gather(*(store.count_pin(cookie) for _ in range(5)))
    assert sorted(counts) == [1, 2, 3, 4, 5]
    assert await store.count_pin(other) == 1
