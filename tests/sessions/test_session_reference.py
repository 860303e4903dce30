"""A session ended later by a reference, without its cookie (the OAuth login remembers the session the
browser held that way), on every store and across a secret rotation."""

from __future__ import annotations

from collections.abc import Callable

from tests.sessions.conftest import OLD_SECRET, SECRET, Harness

UserFactory = Callable[[str], dict[str, str]]


async def test_a_reference_ends_its_session_and_index_line_once(
    harness: Harness, user_factory: UserFactory
) -> None:
    sessions = harness.sessions()
    alice = user_factory("alice")
    cookie, held = await sessions.create(bearer="t1", user=alice, user_agent="UA", ip="10.0.0.1")
    _, other = await sessions.create(bearer="t2", user=alice, user_agent="UA", ip="10.0.0.2")
    reference = sessions.reference(held)
    assert cookie not in reference and alice["id"] not in reference
    assert await sessions.end_referenced(reference) is True
    assert await sessions.load(cookie) is None
    assert [info.id for info in await sessions.list_for(other)] == [other.public_id]  # the other lives
    assert await sessions.end_referenced(reference) is False  # already ended


async def test_a_reference_made_before_a_secret_rotation_still_ends_its_session(
    harness: Harness, user_factory: UserFactory
) -> None:
    before = harness.sessions(secrets=[OLD_SECRET])
    cookie, held = await before.create(bearer="t", user=user_factory("bob"), user_agent="UA", ip="10.0.0.1")
    after = harness.sessions(secrets=[SECRET, OLD_SECRET])
    reloaded = await after.load(cookie)
    assert reloaded is not None
    assert await after.end_referenced(after.reference(reloaded)) is True
    assert await after.load(cookie) is None


async def test_a_reference_that_is_not_one_ends_nothing(harness: Harness, user_factory: UserFactory) -> None:
    sessions = harness.sessions()
    cookie, held = await sessions.create(
        bearer="t", user=user_factory("carol"), user_agent="UA", ip="10.0.0.1"
    )
    public_id, index = sessions.reference(held).split("/")
    for forged in (
        "",
        public_id,
        f"{public_id}/s:{index[2:]}",
        f"{index[2:]}/{index}",
        f"{public_id}/{index}/x",
    ):
        assert await sessions.end_referenced(forged) is False
    assert await sessions.load(cookie) is not None
