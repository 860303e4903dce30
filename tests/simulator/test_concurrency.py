"""Many logins at once, each with its own cookies, all succeed; OOB approval reaches only that user."""

from __future__ import annotations

import asyncio

import httpx

from tests.simulator.helpers import HEADERS, PASSWORDS, mechanism

USERS = ["alice@example.com", "apps@example.com", "email@example.com", "push@example.com"]


async def _login(base: str, user: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        start = await c.post(
            "/Security/StartAuthentication", json={"User": user, "Version": "1.0"}, headers=HEADERS
        )
        package = start.json()
        sid = package["Result"]["SessionId"]
        reply = await c.post(
            "/Security/AdvanceAuthentication",
            json={
                "SessionId": sid,
                "MechanismId": mechanism(package, 0, "UP")["MechanismId"],
                "Action": "Answer",
                "Answer": PASSWORDS[user],
            },
            headers=HEADERS,
        )
        result = reply.json()["Result"]
        if result["Summary"] == "StartNextChallenge":
            second = package["Result"]["Challenges"][1]["Mechanisms"][0]
            await c.post(
                "/Security/AdvanceAuthentication",
                json={"SessionId": sid, "MechanismId": second["MechanismId"], "Action": "StartOOB"},
                headers=HEADERS,
            )
            while True:
                # Approve from "the phone" until this login sees it (other logins of the user may take it).
                await c.post(f"/_sim/oob/{user}/approve")
                poll = await c.post(
                    "/Security/AdvanceAuthentication",
                    json={"SessionId": sid, "MechanismId": second["MechanismId"], "Action": "Poll"},
                    headers=HEADERS,
                )
                result = poll.json()["Result"]
                if result["Summary"] != "OobPending":
                    break
                await asyncio.sleep(0.01)
        assert result["Summary"] == "LoginSuccess", result
        assert result["User"] == user
        who = await c.post(
            "/Security/Whoami",
            json={},
            headers={**HEADERS, "Authorization": f"Bearer {c.cookies['.ASPXAUTH']}"},
        )
        name: str = who.json()["Result"]["User"]
        return name


async def test_twenty_concurrent_logins_with_their_own_cookies_all_succeed(client: httpx.AsyncClient) -> None:
    users = [USERS[i % len(USERS)] for i in range(20)]
    results = await asyncio.gather(*(_login(str(client.base_url), user) for user in users))
    assert results == users
    assert (await client.get("/_sim/state")).json()["logins"] == []
    assert len((await client.get("/_sim/calls")).json()) >= 40


async def test_approving_one_user_leaves_the_others_pending(client: httpx.AsyncClient) -> None:
    async def begin(user: str) -> tuple[str, str]:
        package = (
            await client.post("/Security/StartAuthentication", json={"User": user}, headers=HEADERS)
        ).json()
        sid = package["Result"]["SessionId"]
        await client.post(
            "/Security/AdvanceAuthentication",
            json={
                "SessionId": sid,
                "MechanismId": mechanism(package, 0, "QR")["MechanismId"],
                "Action": "Poll",
            },
            headers=HEADERS,
        )
        return sid, mechanism(package, 0, "QR")["MechanismId"]

    await client.post(
        "/_sim/users", json={"username": "qr2@example.com", "password": "p", "challenges": [["QR"]]}
    )
    client.cookies.clear()
    mine = await begin("qr@example.com")
    client.cookies.clear()
    theirs = await begin("qr2@example.com")
    await client.post("/_sim/oob/qr@example.com/approve")

    async def poll(ids: tuple[str, str]) -> str:
        client.cookies.clear()
        body = {"SessionId": ids[0], "MechanismId": ids[1], "Action": "Poll"}
        reply = await client.post("/Security/AdvanceAuthentication", json=body, headers=HEADERS)
        summary: str = reply.json()["Result"]["Summary"]
        return summary

    assert await poll(mine) == "LoginSuccess"
    assert await poll(theirs) == "OobPending"
