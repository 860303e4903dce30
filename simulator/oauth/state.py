"""What the OAuth2 Client apps remember: sign-in transactions, codes, grants, refresh tokens, SSO sessions.

It shares the simulator's lock and clock (``SimState.lock``, ``SimState.now``); access tokens live in
``SimState.tokens`` too, so they work as bearers for the REST calls their scope allows and the existing
``/_sim/tokens/expire`` reaches them. Every method expects the lock held unless it says otherwise.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from simulator.oauth.apps import OAuthApp
from simulator.oauth.keys import AppKeys
from simulator.state import SimState, Token
from simulator.users import User, user_key

#: Forget spent codes, transactions and dead tokens once every this many new ones.
SWEEP_EVERY = 512
_CLIENT_NAMESPACE = uuid.UUID("5e0c1a1d-0a07-4c2e-9b1f-6c1e2d3f4a5b")


@dataclass
class Txn:
    """An authorization request waiting at the sign-in page, keyed by the page's hidden ``txn`` field."""

    txn_id: str
    app_id: str
    client_id: str
    redirect_uri: str
    scope: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str
    started_at: float
    user: User | None = None  # set once the password is right
    mechanism: str | None = None  # the MFA mechanism the code page asks for
    sent_code: str | None = None  # EMAIL / SMS


@dataclass
class Code:
    """An authorization code: single use, short-lived, bound to the client, redirect_uri, PKCE and nonce."""

    value: str
    app_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scope: list[str]
    user: User
    auth_time: float
    expires_at: float
    used: bool = False
    grant_id: str | None = None


@dataclass
class Grant:
    """What one consent produced: the tokens issued from one code (or one client_credentials call)."""

    grant_id: str
    app_id: str
    client_id: str
    user: User
    scope: list[str]
    auth_time: float
    revoked: bool = False


@dataclass
class Refresh:
    value: str
    grant_id: str
    expires_at: float
    used: bool = False  # rotated away
    revoked: bool = False


@dataclass
class Access:
    """An OAuth access token's app and grant (its life and revocation are the :class:`Token`'s)."""

    value: str
    app_id: str
    grant_id: str


@dataclass
class TokenFailure:
    """An injected token-endpoint error (POST /_sim/oauth/{app}/fail)."""

    error: str
    status: int
    grant_type: str | None
    description: str | None = None


@dataclass
class AppCounts:
    """Token-endpoint calls by ``grant_type`` (refused ones too), grants issued by type, revocation calls."""

    requests: Counter[str] = field(default_factory=Counter)
    granted: Counter[str] = field(default_factory=Counter)
    revocations: int = 0


class OAuthState:
    """The OAuth part of the simulator's memory, ``app.state.oauth``; reset with the rest by /_sim/reset."""

    def __init__(self, sim: SimState, apps: list[OAuthApp]) -> None:
        self.sim = sim
        self._initial_apps = {a.app_id: a for a in apps}
        # Keys outlive resets (making one takes ~0.3 s); reset() puts each app's first key back.
        self._keys: dict[str, AppKeys] = {a.app_id: AppKeys(a.app_id) for a in apps}
        self.reset()

    def reset(self) -> None:
        """Back to how create_app left it (called with the simulator's lock held)."""
        self.apps: dict[str, OAuthApp] = copy.deepcopy(self._initial_apps)
        for keys in self._keys.values():
            keys.reset()
        self.txns: dict[str, Txn] = {}
        self.codes: dict[str, Code] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh: dict[str, Refresh] = {}
        self.access: dict[str, Access] = {}
        #: Tenant browser sessions (the SSO cookie's value -> user and expiry).
        self.sso: dict[str, tuple[User, float]] = {}
        self.counts: dict[str, AppCounts] = {}
        self.tampers: dict[str, list[str]] = {}
        self.failures: dict[str, list[TokenFailure]] = {}
        self._created = 0

    # Apps and keys ------------------------------------------------------------------------------------

    def app(self, app_id: str) -> OAuthApp | None:
        return self.apps.get(app_id)

    def put_app(self, app: OAuthApp) -> None:
        """Add or replace an app (until the next reset). Call WITHOUT the lock: a new app gets a new key."""
        keys = self._keys.get(app.app_id) or AppKeys(app.app_id)
        with self.sim.lock:
            self._keys.setdefault(app.app_id, keys)
            self.apps[app.app_id] = app

    def keys(self, app_id: str) -> AppKeys:
        return self._keys[app_id]

    def counts_of(self, app_id: str) -> AppCounts:
        return self.counts.setdefault(app_id, AppCounts())

    # Sign-in transactions and codes -------------------------------------------------------------------

    def add_txn(self, txn: Txn) -> None:
        self.txns[txn.txn_id] = txn
        self._maybe_sweep()

    def live_txn(self, txn_id: str, app_id: str) -> Txn | None:
        txn = self.txns.get(txn_id)
        if txn is None or txn.app_id != app_id:
            return None
        if self.sim.now() - txn.started_at > self.sim.config.login_lifetime:
            del self.txns[txn_id]
            return None
        return txn

    def add_code(self, code: Code) -> None:
        self.codes[code.value] = code
        self._maybe_sweep()

    def start_sso(self, value: str, user: User) -> None:
        self.sso[value] = (user, self.sim.now() + self.sim.config.token_lifetime)

    def sso_user(self, value: str | None) -> User | None:
        found = self.sso.get(value) if value else None
        if found is None:
            return None
        user, until = found
        return user if self.sim.now() < until else None

    # Grants and tokens --------------------------------------------------------------------------------

    def add_grant(self, grant: Grant) -> None:
        self.grants[grant.grant_id] = grant
        self._maybe_sweep()

    def add_access(self, value: str, app: OAuthApp, grant: Grant, scope: list[str]) -> None:
        token = Token(
            value,
            grant.user,
            grant.grant_id,
            self.sim.now() + app.access_token_lifetime,
            one_time=False,
            allowed=app.patterns(scope),
        )
        self.sim.tokens[value] = token
        self.access[value] = Access(value, app.app_id, grant.grant_id)

    def add_refresh(self, value: str, app: OAuthApp, grant: Grant) -> None:
        self.refresh[value] = Refresh(value, grant.grant_id, self.sim.now() + app.refresh_token_lifetime)

    def live_access(self, value: str | None, app_id: str) -> Grant | None:
        """The grant behind a usable access token of this app, else None."""
        access = self.access.get(value) if value else None
        token = self.sim.tokens.get(value) if value else None
        if access is None or token is None or access.app_id != app_id:
            return None
        if token.revoked or self.sim.now() >= token.expires_at:
            return None
        grant = self.grants.get(access.grant_id)
        return grant if grant is not None and not grant.revoked else None

    def revoke_grant(self, grant_id: str) -> None:
        """The grant's refresh tokens and access tokens all stop working."""
        grant = self.grants.get(grant_id)
        if grant is not None:
            grant.revoked = True
        for refresh in self.refresh.values():
            if refresh.grant_id == grant_id:
                refresh.revoked = True
        self.sim.revoke_grant(grant_id)

    def client_user(self, app: OAuthApp) -> User:
        """The confidential client itself, as the subject of a client_credentials token."""
        return User(
            username=app.client_id,
            password="",
            display_name=f"{app.app_id} (confidential client)",
            email=app.client_id if "@" in app.client_id else f"{app.client_id}@clients.invalid",
            uuid=str(uuid.uuid5(_CLIENT_NAMESPACE, f"{app.app_id}/{app.client_id}")),
            challenges=[],
        )

    def expire(self, token: str | None, username: str | None) -> int:
        """Expire now one access or refresh token, or every OAuth token of a user; answers how many."""
        now = self.sim.now()
        key = user_key(username) if username else None
        count = 0
        for access in self.access.values():
            grant = self.grants.get(access.grant_id)
            hit = access.value == token or (key is not None and grant is not None and grant.user.key == key)
            bearer = self.sim.tokens.get(access.value)
            if hit and bearer is not None:
                bearer.expires_at = min(bearer.expires_at, now)
                count += 1
        for refresh in self.refresh.values():
            grant = self.grants.get(refresh.grant_id)
            if refresh.value == token or (key is not None and grant is not None and grant.user.key == key):
                refresh.expires_at = min(refresh.expires_at, now)
                count += 1
        return count

    # Test hooks ---------------------------------------------------------------------------------------

    def take_tamper(self, app_id: str) -> str | None:
        queue = self.tampers.get(app_id)
        return queue.pop(0) if queue else None

    def take_failure(self, app_id: str, grant_type: str) -> TokenFailure | None:
        queue = self.failures.get(app_id, [])
        for i, failure in enumerate(queue):
            if failure.grant_type in (None, grant_type):
                return queue.pop(i)
        return None

    def summary(self) -> dict[str, Any]:
        """Counts for /_sim/oauth/state (no secrets, no token values)."""
        now = self.sim.now()
        return {
            "apps": sorted(self.apps),
            "signins_waiting": len(self.txns),
            "codes_unused": sum(1 for c in self.codes.values() if not c.used and c.expires_at > now),
            "grants_live": sum(1 for g in self.grants.values() if not g.revoked),
            "refresh_live": sum(
                1 for r in self.refresh.values() if not (r.used or r.revoked) and r.expires_at > now
            ),
            "sso_sessions": sum(1 for _, until in self.sso.values() if until > now),
        }

    def _maybe_sweep(self) -> None:
        self._created += 1
        if self._created % SWEEP_EVERY:
            return
        now = self.sim.now()
        oldest = now - self.sim.config.login_lifetime
        self.txns = {k: t for k, t in self.txns.items() if t.started_at >= oldest}
        self.codes = {k: c for k, c in self.codes.items() if c.expires_at > now - 600}
        self.refresh = {
            k: r for k, r in self.refresh.items() if r.expires_at > now and not (r.used or r.revoked)
        }
        self.access = {k: a for k, a in self.access.items() if k in self.sim.tokens}
        self.sso = {k: s for k, s in self.sso.items() if s[1] > now}
