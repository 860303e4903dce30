"""Soft lockout: RetryWaitingTime and refused answers after N quick failures, for known and unknown users."""

from __future__ import annotations

import httpx

from tests.simulator.helpers import advance, assert_failure, mechanism, password_step, start


async def _fail_times(client: httpx.AsyncClient, user: str, n: int) -> None:
    for _ in range(n):
        _, reply = await password_step(client, user, "wrong-password")
        assert_failure(reply)


async def test_lockout_after_threshold_failures(client: httpx.AsyncClient) -> None:
    await _fail_times(client, "alice@example.com", 4)
    assert (await start(client, "alice@example.com"))["Result"]["RetryWaitingTime"] == 0
    await _fail_times(client, "alice@example.com", 1)
    package = await start(client, "alice@example.com")
    wait = package["Result"]["RetryWaitingTime"]
    assert 55 <= wait <= 60
    assert package["Result"]["Summary"] == "NewPackage"
    # Even the right password is refused while the lockout lasts.
    reply = await advance(
        client,
        package["Result"]["SessionId"],
        mechanism(package, 0, "UP")["MechanismId"],
        "Answer",
        "alice-pass-1",
    )
    assert_failure(reply)


async def test_lockout_counts_down_and_lapses_on_the_simulator_clock(client: httpx.AsyncClient) -> None:
    await _fail_times(client, "alice@example.com", 5)
    await client.post("/_sim/clock/advance", json={"seconds": 40})
    assert 15 <= (await start(client, "alice@example.com"))["Result"]["RetryWaitingTime"] <= 20
    await client.post("/_sim/clock/advance", json={"seconds": 21})
    assert (await start(client, "alice@example.com"))["Result"]["RetryWaitingTime"] == 0
    _, reply = await password_step(client, "alice@example.com")
    assert reply["Result"]["Summary"] == "LoginSuccess"


async def test_failures_outside_the_window_do_not_add_up(client: httpx.AsyncClient) -> None:
    await _fail_times(client, "alice@example.com", 4)
    await client.post("/_sim/clock/advance", json={"seconds": 61})
    await _fail_times(client, "alice@example.com", 1)
    assert (await start(client, "alice@example.com"))["Result"]["RetryWaitingTime"] == 0


async def test_lockout_is_per_user(client: httpx.AsyncClient) -> None:
    await _fail_times(client, "alice@example.com", 5)
    assert (await start(client, "sq@example.com"))["Result"]["RetryWaitingTime"] == 0


async def test_unknown_users_are_locked_out_too(client: httpx.AsyncClient) -> None:
    await _fail_times(client, "ghost@example.com", 5)
    assert (await start(client, "ghost@example.com"))["Result"]["RetryWaitingTime"] > 0


async def test_lockout_settings_are_changeable_at_runtime(client: httpx.AsyncClient) -> None:
    config = await client.post("/_sim/config", json={"lockout_threshold": 2, "lockout_seconds": 300})
    assert config.json()["lockout_threshold"] == 2
    await _fail_times(client, "alice@example.com", 2)
    assert 295 <= (await start(client, "alice@example.com"))["Result"]["RetryWaitingTime"] <= 300


async def test_poll_of_a_locked_out_user_fails(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/config", json={"lockout_threshold": 1})
    first = await start(client, "qr@example.com")
    await client.post("/_sim/oob/qr@example.com/approve")  # the first login could now finish...
    second = await start(client, "qr@example.com")
    await client.post("/_sim/oob/qr@example.com/deny")  # ...but a denied second one locks the user out
    assert_failure(
        await advance(
            client, second["Result"]["SessionId"], mechanism(second, 0, "QR")["MechanismId"], "Poll"
        )
    )
    assert_failure(
        await advance(client, first["Result"]["SessionId"], mechanism(first, 0, "QR")["MechanismId"], "Poll")
    )
