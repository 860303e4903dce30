"""What an upstream receives as ``Authorization: Bearer …``, by its ``token`` mode (api.md §7).

Example::

    bearer = credential_for("assertion", signer)
    bearer(session)    # an assertion; "access_token": the OAuth access token; "none": None

The tenant's ``.ASPXAUTH`` never leaves for an upstream: an API login's bearer is that token, so
``access_token`` refuses such a session (``403 token_unavailable``) rather than send it.
"""

from __future__ import annotations

from collections.abc import Callable

from app.errors import TokenUnavailable
from app.sessions.records import Session
from app.upstreams.assertions import AssertionSigner


def access_token(session: Session) -> str:
    """The session's OAuth access token (refreshed before the call by the proxy)."""
    if session.login != "oauth":
        raise TokenUnavailable()
    return session.bearer


def no_credential(session: Session) -> None:
    """``none``: the upstream only needs a signed-in user; the BFF still requires the session."""
    return None


def credential_for(mode: str, signer: AssertionSigner | None) -> Callable[[Session], str | None]:
    """The credential function for token ``mode`` (``assertion`` needs its upstream's signer)."""
    if mode == "assertion":
        if signer is None:
            raise ValueError("an assertion upstream needs a signer")
        return signer.bearer
    if mode == "access_token":
        return access_token
    if mode == "none":
        return no_credential
    raise ValueError(f"unknown token mode {mode!r}")
