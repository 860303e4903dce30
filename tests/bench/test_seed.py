"""``bench.seed`` writes a session the BFF reads: API by default, OAuth with ``--login oauth``."""

from __future__ import annotations

import time

from app.sessions.service import SessionService
from app.settings import Settings
from app.store.factory import open_store
from bench.seed import OAUTH_ACCESS_LIFETIME, seed

SECRET = "bench-seed-test-secret-0123456789abcdef"


async def _seeded(redis_url: str, login: str) -> tuple[Settings, str]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_cookie_secure=False,
    )
    header = await seed(settings, "seeded-bearer", login=login)
    name, _, value = header.partition("=")
    assert name == settings.cookie_name
    return settings, value


async def test_an_api_session_by_default(redis_url: str) -> None:
    settings, cookie = await _seeded(redis_url, "api")
    store = open_store(settings)
    try:
        session = await SessionService.from_settings(store, settings).load(cookie, slide=False)
    finally:
        await store.aclose()
    assert session is not None and session.bearer == "seeded-bearer"
    assert (session.login, session.access_expires_at, session.refresh_token) == ("api", None, None)


async def test_an_oauth_session_whose_access_token_needs_no_refresh_during_a_benchmark(
    redis_url: str,
) -> None:
    settings, cookie = await _seeded(redis_url, "oauth")
    store = open_store(settings)
    try:
        session = await SessionService.from_settings(store, settings).load(cookie, slide=False)
    finally:
        await store.aclose()
    assert session is not None and session.bearer == "seeded-bearer" and session.login == "oauth"
    assert session.refresh_token is not None
    assert session.access_expires_at is not None
    assert session.access_expires_at > time.time() + OAUTH_ACCESS_LIFETIME - 60
