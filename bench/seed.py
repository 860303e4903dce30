"""``python -m bench.seed --token T [--login oauth]``: a session for bearer ``T`` in the app's own store;
prints its Cookie.

``--login oauth`` seeds an OAuth session (access token expiring in a day, a refresh token), so the proxy's
cost for an OAuth session that needs no refresh can be measured beside an API session's.

Reads the same environment as the app (``BFF_REDIS_URL``, ``BFF_SESSION_SECRETS``, ``BFF_COOKIE_SECURE``,
``BFF_REDIS_KEY_PREFIX`` ...), writes the session through :class:`app.sessions.service.SessionService`, and
prints the Cookie header value (``name=value``) as its last line, for wrk and the peers harness.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from app.configuration import load_settings_or_exit
from app.sessions.service import SessionService
from app.settings import Settings
from app.store.factory import open_store

BENCH_USER = {
    "id": "bench-user-0001",
    "username": "bench@example.com",
    "display_name": "Bench User",
    "email": "bench@example.com",
    "tenant": "BENCH",
}


#: How long a seeded OAuth session's access token lives: far past any benchmark, so none refreshes.
OAUTH_ACCESS_LIFETIME = 86_400


async def seed(
    settings: Settings, token: str, *, user: dict[str, str] | None = None, login: str = "api"
) -> str:
    """Create a session for bearer ``token``; returns the Cookie header value ``name=value``."""
    store = open_store(settings)
    try:
        sessions = SessionService.from_settings(store, settings)
        oauth = login == "oauth"
        cookie, _ = await sessions.create(
            bearer=token,
            user=dict(user or BENCH_USER),
            user_agent="bench.seed",
            ip="127.0.0.1",
            login=login,
            access_expires_at=time.time() + OAUTH_ACCESS_LIFETIME if oauth else None,
            refresh_token="bench-refresh-token" if oauth else None,
        )
    finally:
        await store.aclose()
    return f"{settings.cookie_name}={cookie}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n")[0])
    parser.add_argument("--token", required=True, help="the tenant bearer the session carries")
    parser.add_argument(
        "--login", choices=("api", "oauth"), default="api", help="the kind of session (default: api)"
    )
    args = parser.parse_args(argv)
    settings = load_settings_or_exit()
    # Without these the BFF could never read what is written here: a random dev secret, a per-process store.
    if settings.bff_redis_url is None:
        sys.stderr.write("bench.seed: BFF_REDIS_URL must be set (the BFF reads its sessions from there)\n")
        return 2
    if not settings.bff_session_secrets:
        sys.stderr.write("bench.seed: BFF_SESSION_SECRETS must be set (the same as the BFF's)\n")
        return 2
    sys.stdout.write(asyncio.run(seed(settings, args.token, login=args.login)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
