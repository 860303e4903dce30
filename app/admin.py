"""``python -m app.admin``: operator commands over the server's own settings and session store.

Example::

    python -m app.admin sessions list --user jane@example.com      # one JSON line per session, then the count
    python -m app.admin sessions revoke --user jane@example.com    # deletes them all; prints the count

``NAME`` is the user name as the user typed it at login (any letter case) or the tenant user id. The
configuration is the server's (environment, ``.env``), so is the store: run it where the server runs, e.g.
``kubectl exec deploy/bff -- python -m app.admin sessions revoke --user NAME``. The result goes to standard
output (the count alone on the last line), logs to standard error. Exit status: 0 done (also for an unknown
user: ``0``), 1 the store is unavailable, 2 the configuration cannot reach the server's sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from app.configuration import load_settings_or_exit
from app.errors import StoreUnavailable
from app.observe.logs import audit, configure_logging
from app.sessions.keyring import Keyring
from app.sessions.service import RECORD_KEYS
from app.sessions.user_index import UserIndex
from app.settings import Settings
from app.store.factory import open_store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.admin", description="BFF operator commands.")
    groups = parser.add_subparsers(dest="group", required=True)
    sessions = groups.add_parser("sessions", help="a user's sessions")
    actions = sessions.add_subparsers(dest="action", required=True)
    for action, text in (
        ("list", "list the user's live sessions"),
        ("revoke", "end every session of the user, on every replica"),
    ):
        command = actions.add_parser(action, help=text)
        command.add_argument(
            "--user", required=True, metavar="NAME", help="user name (any letter case) or tenant user id"
        )
    return parser


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _refuse(message: str, status: int) -> int:
    sys.stderr.write(f"app.admin: {message}\n")
    return status


async def _run(settings: Settings, action: str, name: str) -> int:
    store = open_store(settings, cached=RECORD_KEYS)
    try:
        keyring = Keyring(settings.signing_secrets())
        index = UserIndex(store, keyring, max_lifetime=settings.bff_session_max_lifetime)
        if action == "list":
            found = await index.sessions_of_user(name)
            for info in found:
                line = {
                    "id": info.id,
                    "created_at": _iso(info.created_at),
                    "last_seen_at": _iso(info.last_seen_at),
                    "user_agent": info.user_agent,
                    "ip": info.ip,
                }
                sys.stdout.write(json.dumps(line) + "\n")
            count = len(found)
        else:
            count = await index.revoke_user(name)
            # The name itself stays out of the log, as user names do everywhere: a keyed hash identifies it.
            audit("sessions_revoked_by_operator", count=count, user=keyring.user_names(name)[0])
        sys.stdout.write(f"{count}\n")
        return 0
    except StoreUnavailable as exc:
        cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else "unavailable"
        # A revoke may have ended some sessions before the store went: running it again finishes the job.
        return _refuse(f"the session store is unavailable ({cause}); run the command again", 1)
    finally:
        try:
            await store.aclose()
        except StoreUnavailable:
            pass


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings_or_exit()
    configure_logging(settings.bff_log_level)
    if settings.bff_redis_url is None:
        return _refuse("BFF_REDIS_URL is not set: the sessions live inside the server process", 2)
    if not settings.bff_session_secrets:
        return _refuse("BFF_SESSION_SECRETS is not set: the server's session index cannot be read", 2)
    name = args.user.strip()
    if not name:
        return _refuse("--user: a user name or id is required", 2)
    return asyncio.run(_run(settings, args.action, name))


if __name__ == "__main__":
    raise SystemExit(main())
