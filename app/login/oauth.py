"""The OAuth 2.0 authorization code flow with PKCE (api.md §2 "OAuth 2.0 login"), free of any web framework.

Example::

    flow = OAuthLoginFlow(oauth_client, keyring.oauth_login_keys, store, redirect_uri=...,
                          scope="openid profile", login_timeout=300)
    url, cookie = flow.begin(return_to="/apps", previous=None)   # 302 to url; set the login cookie
    pending = flow.open(cookie)                        # at the callback; None when missing or expired
    if pending is None or not pending.state_matches(state_from_query): ...   # state_mismatch
    if not await flow.spend(pending): ...              # state_mismatch: this state came back before
    done = await flow.finish(pending, code)            # tokens and the user; TenantError when refused

The state, PKCE verifier, nonce, ``return_to`` and a reference to the session the browser held live in the
login cookie, sealed (AES-GCM under a key derived from the session secrets, bound to its purpose): the
browser carries them without being able to read or change them. The cookie dies with the login
(``BFF_LOGIN_TIMEOUT``, enforced inside the seal as well as by Max-Age). Its ``state`` is spent once: the
first callback that brings it marks it in the store (``SET NX``) until the cookie would have expired, so a
replayed callback never reaches the tenant again (each try would carry the client secret, and a tenant that
revokes a grant on code reuse would end the session the first callback made).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.errors import InvalidRequest, TenantProtocolError
from app.identity.models import User
from app.identity.oauth import OAuthClient, TokenSet
from app.sessions.records import Session
from app.sessions.sealed import seal, unseal
from app.store.protocol import Store

log = logging.getLogger("bff.oauth")

#: The ``login_error`` codes of a failed callback (api.md §2); nothing else ever goes in the query.
LoginError = Literal["access_denied", "state_mismatch", "login_failed", "rate_limited"]

#: 256 bits each (the spec asks at least 128 for state); the verifier is 86 characters (RFC 7636: 43-128).
STATE_BYTES = 32
NONCE_BYTES = 32
VERIFIER_BYTES = 64
#: Bound to the purpose: a value sealed for another use (a session record, an index entry) never opens here.
_ASSOCIATED = b"bff.oauth-login.v1"
#: A login cookie is about 340 characters plus 4/3 of its return_to; anything longer is not ours (and costs
#: no decryption). It fits a 2,048-character ASCII return_to and stays under browsers' 4 KB per cookie.
MAX_COOKIE_LENGTH = 3400
# What a return_to must not contain anywhere (after the one percent-decoding of any query value): a
# backslash (browsers read it as a slash), and controls and whitespace U+0000-U+0020 and U+007F (browsers
# drop tabs and newlines from URLs, which could join "/" and "/evil.example" into "//evil.example").
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
_MAX_RETURN_TO = 2048


def local_return_to(value: str | None) -> str:
    """``value`` when it is a local path by the spec's rule, ``/`` when absent; else InvalidRequest.

    Example: ``local_return_to("/apps?tab=2")`` is ``"/apps?tab=2"``; ``"//evil.example"`` is refused.
    A local path has one leading ``/``, not ``//``, no ``\\`` anywhere, no scheme, and no control character
    or whitespace anywhere. A path starting with a single ``/`` cannot carry a scheme or an authority, so
    the browser resolves it on the BFF's own origin.
    """
    if value is None or value == "":
        return "/"
    if (
        len(value) > _MAX_RETURN_TO
        or not value.startswith("/")
        or value.startswith("//")
        or _FORBIDDEN.search(value) is not None
    ):
        raise InvalidRequest("return_to is not a local path")
    return value


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def pkce_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` of ``verifier`` (RFC 7636 §4.2)."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """What the login cookie carries between the login navigation and the callback."""

    state: str = field(repr=False)
    verifier: str = field(repr=False)
    nonce: str | None = field(repr=False)
    return_to: str
    expires_at: float
    #: The session the browser held at the login navigation (:func:`app.login.promotion.held_session`).
    previous: str | None = field(default=None, repr=False)

    def state_matches(self, state: str | None) -> bool:
        """Whether the callback's ``state`` is this login's, compared in constant time."""
        if state is None:
            return False
        return hmac.compare_digest(self.state.encode(), state.encode("utf-8", "surrogateescape"))


@dataclass(frozen=True, slots=True)
class OAuthLoggedIn:
    """A finished code flow: the tenant's tokens and the user they belong to."""

    tokens: TokenSet
    user: User


class OAuthLoginFlow:
    """Begin (authorize URL and sealed cookie) and finish (code exchange, id_token, user) one login."""

    def __init__(
        self,
        client: OAuthClient,
        keys: Sequence[bytes],
        store: Store,
        *,
        redirect_uri: str,
        scope: str,
        login_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keys:
            raise ValueError("at least one key is needed to seal the login cookie")
        self.client = client
        self._keys = tuple(keys)
        self._spent = SpentStates(store)
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.openid = "openid" in scope.split()
        self.login_timeout = login_timeout
        self.clock = clock

    def begin(self, return_to: str, previous: str | None = None) -> tuple[str, str]:
        """A new login: the tenant's authorize URL and the login cookie's value.

        ``previous``: the session the browser holds, to end when this login succeeds.
        """
        pending = PendingLogin(
            state=secrets.token_urlsafe(STATE_BYTES),
            verifier=secrets.token_urlsafe(VERIFIER_BYTES),
            nonce=secrets.token_urlsafe(NONCE_BYTES) if self.openid else None,
            return_to=return_to,
            expires_at=self.clock() + self.login_timeout,
            previous=previous,
        )
        params = {
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": pending.state,
            "code_challenge": pkce_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        if pending.nonce is not None:
            params["nonce"] = pending.nonce
        cookie = self._seal(pending)
        if len(cookie) > MAX_COOKIE_LENGTH:
            # A return_to that passes the rule but would not come back (non-ASCII is escaped 6-fold in JSON):
            # refused now, rather than every callback failing with state_mismatch.
            raise InvalidRequest()
        return self.client.authorize_url(params), cookie

    def open(self, cookie: str | None) -> PendingLogin | None:
        """The login the cookie carries; ``None`` when missing, tampered, foreign or expired."""
        if not cookie or len(cookie) > MAX_COOKIE_LENGTH:
            return None
        blob = _unb64(cookie)
        plain = None if blob is None else unseal(self._keys, blob, _ASSOCIATED)
        if plain is None:
            return None
        try:
            data = json.loads(plain)
            pending = PendingLogin(
                state=str(data["s"]),
                verifier=str(data["v"]),
                nonce=None if data["n"] is None else str(data["n"]),
                return_to=str(data["r"]),
                expires_at=float(data["e"]),
                previous=None if data.get("p") is None else str(data["p"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if pending.expires_at <= self.clock():
            return None
        return pending

    async def spend(self, pending: PendingLogin) -> bool:
        """Mark this login's state used; ``False`` when a callback brought it before (on any replica)."""
        return await self._spent.spend(pending.state, until=pending.expires_at, now=self.clock())

    async def finish(self, pending: PendingLogin, code: str) -> OAuthLoggedIn:
        """Exchange ``code`` (with the verifier), check the id_token, and name the user.

        Raises a TenantError for any refusal (code, id_token, userinfo); the caller answers login_failed.
        """
        tokens = await self.client.exchange_code(code, pending.verifier, self.redirect_uri)
        if tokens.id_token is None:
            return OAuthLoggedIn(tokens, self.client.user(await self.client.userinfo(tokens.access_token)))
        claims = await self.client.id_token_claims(tokens.id_token, nonce=pending.nonce)
        if not self.client.names_user(claims):
            # A minimal id_token (sub only): the rest of the user comes from UserInfo, about the same sub.
            info = await self.client.userinfo(tokens.access_token)
            if info.get("sub") != claims["sub"]:
                raise TenantProtocolError("userinfo names another subject than the id_token")
            claims = {**info, **claims}
        return OAuthLoggedIn(tokens, self.client.user(claims))

    def _seal(self, pending: PendingLogin) -> str:
        data = {
            "s": pending.state,
            "v": pending.verifier,
            "n": pending.nonce,
            "r": pending.return_to,
            "e": pending.expires_at,
        }
        if pending.previous is not None:
            data["p"] = pending.previous
        plain = json.dumps(data, separators=(",", ":")).encode()
        return _b64(seal(self._keys[0], plain, _ASSOCIATED))


class SpentStates:
    """The ``state`` values callbacks have brought, each kept until its login cookie would have expired.

    Example: ``await SpentStates(store).spend(state, until=expires_at, now=time.time())`` is ``True`` the
    first time only, on every replica sharing the store. The key holds a hash of the state, never the state.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def spend(self, state: str, *, until: float, now: float) -> bool:
        key = "o:" + hashlib.sha256(state.encode("utf-8", "surrogateescape")).hexdigest()
        # At least a second: a state opened at the last instant of its cookie is still kept past it.
        return await self.store.set_if_absent(key, b"1", max(1.0, until - now))


async def revoke_tokens(client: OAuthClient | None, session: Session) -> None:
    """At logout of an OAuth session: revoke its refresh token, then its access token, at the tenant.

    Best effort: the session ends either way, and the tokens lapse at their own expiry if this fails.
    """
    if client is None:
        return
    for hint, exc in await client.revoke_each(session.refresh_token, session.bearer):
        extra = {"error": exc.code, "hint": hint, "session": session.log_id}
        log.info("token revocation failed", extra=extra)
