"""Everything the simulator remembers, behind one threading.Lock (two uvicorn threads may share one app).

Never await while holding :attr:`SimState.lock`: every method here is synchronous and short.
"""

from __future__ import annotations

import copy
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.mechanisms import Mechanism
from simulator.users import User, user_key

#: Mechanisms whose pending out-of-band step a test may approve or deny via /_sim/oob/.
APPROVABLE = frozenset({"EMAIL", "SMS", "OTP", "PF", "QR"})
#: Most calls the log keeps; older ones are dropped so a long benchmark run cannot exhaust memory.
MAX_CALLS = 10_000
#: Forget expired logins and tokens once every this many new ones (benchmarks create them by the thousand).
SWEEP_EVERY = 1024


@dataclass
class IdpLogin:
    """A federated login waiting for the user at their IdP, keyed by its IdpLoginSessionId
    (simulator/federation.py)."""

    session_id: str
    short_id: str
    user: User
    started_at: float
    state: str = "pending"  # pending | signed_in | denied
    pin: str | None = None


@dataclass
class SimConfig:
    """Knobs settable at start and via POST /_sim/config, e.g. ``SimConfig(pod_chain=["a:1", "b:2"])``."""

    token_lifetime: int = 43200
    lockout_threshold: int = 5
    lockout_seconds: int = 60
    pod_chain: list[str] = field(default_factory=list)
    tenant_id: str = "ABC1234"
    #: Seconds a SessionId lives; after that every AdvanceAuthentication on it fails.
    login_lifetime: int = 600


@dataclass
class Oob:
    """An out-of-band step started for one mechanism of one login."""

    mechanism: str
    state: str = "pending"  # pending | approved | denied
    code: str | None = None
    generated: str | None = None


@dataclass
class Login:
    """An unfinished login, keyed by its SessionId."""

    session_id: str
    key: str
    user: User | None
    challenges: list[list[Mechanism]]
    lb_cookie: str
    started_at: float
    index: int = 0
    resetting: bool = False
    oobs: dict[str, Oob] = field(default_factory=dict)

    def current(self, mechanism_id: object) -> Mechanism | None:
        """The mechanism of the current challenge with that id (earlier or later challenges do not count)."""
        if self.index >= len(self.challenges):
            return None
        return next((m for m in self.challenges[self.index] if m.id == mechanism_id), None)


@dataclass
class Token:
    """A bearer the tenant issued: the ``.ASPXAUTH`` duration token or the one-time ``Auth`` token."""

    value: str
    user: User
    grant: str
    expires_at: float
    one_time: bool
    used: bool = False
    revoked: bool = False
    #: None: any bearer path (a login's token); else an OAuth access token's scope as full-match path regexes.
    allowed: tuple[re.Pattern[str], ...] | None = None


@dataclass
class Fault:
    """An artificial misbehaviour for one path (``*``: every protocol path)."""

    path: str
    delay: float = 0.0
    status: int | None = None
    body: str = ""
    content_type: str = "text/html"
    drop: bool = False
    times: int | None = None


class SimState:
    """The simulator's memory; the app keeps it as ``app.state.sim``."""

    def __init__(self, users: list[User], config: SimConfig) -> None:
        self.lock = threading.Lock()
        self._initial_users = users
        self._initial_config = config
        #: Called by reset() with the lock held, e.g. the OAuth apps' memory (simulator/oauth/state.py).
        self.reset_hooks: list[Callable[[], None]] = []
        self.reset()

    def reset(self) -> None:
        """Everything back to how create_app left it."""
        with self.lock:
            self.users: dict[str, User] = {u.key: copy.deepcopy(u) for u in self._initial_users}
            self.config = copy.deepcopy(self._initial_config)
            self.clock_offset = 0.0
            self.logins: dict[str, Login] = {}
            #: Federated (OobIdPAuth) logins by IdpLoginSessionId; see simulator/federation.py.
            self.idp_logins: dict[str, IdpLogin] = {}
            self.tokens: dict[str, Token] = {}
            self.failures: dict[str, list[float]] = {}
            self.locked_until: dict[str, float] = {}
            self.codes: dict[str, str] = {}
            self.calls: list[dict[str, Any]] = []
            self.faults: dict[str, Fault] = {}
            self._created = 0
            for hook in self.reset_hooks:
                hook()

    # Clock ------------------------------------------------------------------------------------------

    def now(self) -> float:
        """The simulator clock: wall time plus whatever /_sim/clock/advance added."""
        return time.time() + self.clock_offset

    # Users ------------------------------------------------------------------------------------------

    def user(self, username: str) -> User | None:
        return self.users.get(user_key(username))

    # Lockout (call with the lock held) --------------------------------------------------------------

    def lockout_left(self, key: str) -> float:
        until = self.locked_until.get(key)
        if until is None:
            return 0.0
        left = until - self.now()
        if left <= 0:
            del self.locked_until[key]
            return 0.0
        return left

    def retry_waiting_time(self, key: str) -> int:
        return math.ceil(self.lockout_left(key))

    def note_failure(self, key: str) -> None:
        threshold = self.config.lockout_threshold
        if threshold <= 0:
            return
        now = self.now()
        window = [t for t in self.failures.get(key, []) if t > now - self.config.lockout_seconds]
        window.append(now)
        if len(window) >= threshold:
            self.locked_until[key] = now + self.config.lockout_seconds
            window = []
        self.failures[key] = window

    # Tokens (call with the lock held) ---------------------------------------------------------------

    def add_login(self, login: Login) -> None:
        self.logins[login.session_id] = login
        self._maybe_sweep()

    def _maybe_sweep(self) -> None:
        self._created += 1
        if self._created % SWEEP_EVERY:
            return
        now = self.now()
        oldest = now - self.config.login_lifetime
        self.logins = {k: v for k, v in self.logins.items() if v.started_at >= oldest}
        self.tokens = {k: t for k, t in self.tokens.items() if t.expires_at > now and not t.revoked}

    def issue_tokens(self, user: User) -> tuple[Token, Token]:
        """A fresh (duration, one-time) pair from one login; logging out with either ends both."""
        self._maybe_sweep()
        grant = secrets.token_hex(8)
        expires = self.now() + self.config.token_lifetime
        duration = Token(secrets.token_hex(96).upper(), user, grant, expires, one_time=False)
        once = Token(secrets.token_urlsafe(48), user, grant, expires, one_time=True)
        self.tokens[duration.value] = duration
        self.tokens[once.value] = once
        return duration, once

    def spend_token(self, value: str | None, path: str | None = None) -> Token | None:
        """The token if it is good for this call (a one-time token is used up by it); else None.

        An OAuth access token is good only for the paths its scope allows (``path`` without its leading /).
        """
        token = self.tokens.get(value) if value else None
        if token is None or token.revoked or token.used or self.now() >= token.expires_at:
            return None
        rest = (path or "").lstrip("/")
        if token.allowed is not None and not any(p.fullmatch(rest) for p in token.allowed):
            return None
        if token.one_time:
            token.used = True
        return token

    def revoke_grant(self, grant: str) -> None:
        for token in self.tokens.values():
            if token.grant == grant:
                token.revoked = True

    # Call log and faults ----------------------------------------------------------------------------

    def record_call(self, call: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(call)
            if len(self.calls) > MAX_CALLS:
                del self.calls[: len(self.calls) - MAX_CALLS]

    def take_fault(self, path: str) -> Fault | None:
        """The fault for ``path`` (exact, else ``*``), counting down its ``times``."""
        with self.lock:
            fault = self.faults.get(path) or self.faults.get("*")
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[fault.path]
            return copy.copy(fault)
