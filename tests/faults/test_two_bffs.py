"""Two BFF processes on one Redis behave as one: sessions, logout and revocation are seen by both at once."""

from __future__ import annotations

from tests.faults.conftest import StartBff, browser, login


async def test_a_session_made_on_one_works_on_the_other_and_logout_is_seen_at_once(
    redis_url: str, start_bff: StartBff
) -> None:
    one, two = start_bff(bff_redis_url=redis_url), start_bff(bff_redis_url=redis_url)
    async with browser(one.url) as on_one, browser(two.url) as on_two:
        cookie = await login(on_one)
        on_two.cookies.set("bff", cookie)
        state = await on_two.get("/auth/session")
        assert state.status_code == 200 and state.json()["user"]["username"] == "alice@example.com"

        assert (await on_one.post("/auth/logout")).status_code == 204
        # No cache anywhere: the very next request on the other process finds the session gone.
        assert (await on_two.get("/auth/session")).status_code == 401
        assert (await on_two.get("/auth/sessions")).status_code == 401


async def test_a_revocation_on_one_is_seen_by_the_other_at_once(redis_url: str, start_bff: StartBff) -> None:
    one, two = start_bff(bff_redis_url=redis_url), start_bff(bff_redis_url=redis_url)
    async with browser(one.url) as laptop, browser(two.url) as phone, browser(one.url) as phone_on_one:
        await login(laptop)
        phone_cookie = await login(phone)
        phone_on_one.cookies.set("bff", phone_cookie)

        listed = (await laptop.get("/auth/sessions")).json()  # on one; the phone logged in on two
        assert len(listed) == 2
        phone_id = next(item["id"] for item in listed if not item["current"])
        assert (await laptop.delete(f"/auth/sessions/{phone_id}")).status_code == 204

        assert (await phone.get("/auth/session")).status_code == 401
        assert (await phone_on_one.get("/auth/session")).status_code == 401
        assert [item["current"] for item in (await laptop.get("/auth/sessions")).json()] == [True]
        # And the other way round: the phone cannot revoke the laptop any more, from either process.
        laptop_id = next(item["id"] for item in listed if item["current"])
        assert (await phone.delete(f"/auth/sessions/{laptop_id}")).status_code == 401
        assert (await laptop.get("/auth/session")).status_code == 200
