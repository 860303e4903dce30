"""The tenant's challenge sequence, run server-side and shown to the browser as steps.

Example::

    flow = LoginFlow(tenant, poll_min_interval=2.0, count_oob=lambda: logins.count_oob(handle))
    step, state = await flow.begin("jane@example.com")     # a ChallengeStep and the state to store
    result = await flow.advance(state, "k3Jd9a", answer="secret")

The state (:class:`LoginState`) holds the tenant's SessionId and cookies, so the caller keeps it sealed
under a key only the browser's login cookie carries. The browser sees the BFF's own mechanism ids, never
the tenant's.

A federated user (spec api.md §2, "Federated users") gets a :class:`RedirectStep` with one mechanism id of
the BFF's own: :meth:`LoginFlow.poll` then asks the tenant's OobAuthStatus, and :meth:`LoginFlow.advance`
with that id answers the IdP's PIN. The tenant's ``IdpLoginSessionId`` stays in the state, as a SessionId.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from app.errors import InvalidRequest, LoginFailed, RateLimited, TenantProtocolError
from app.identity.client import TenantClient
from app.identity.hosts import tenant_host
from app.identity.models import (
    FederatedRedirect,
    LoggedIn,
    LoginContext,
    Mechanism,
    NewPackage,
    NextChallenge,
    Outcome,
    Package,
    Pending,
)
from app.login.steps import (
    AuthenticatedStep,
    ChallengeStep,
    ChallengeView,
    MechanismView,
    PendingStep,
    QuestionView,
    RedirectStep,
    UserView,
)

#: StartOOB calls allowed per login: each one pushes, mails or calls the user (push bombing).
MAX_OOB_STARTS = 5
#: What a federated login's pending step says, without and with a PIN to type.
FEDERATED_PROMPT = "Sign in at your identity provider in the window that opened."
FEDERATED_PIN_PROMPT = FEDERATED_PROMPT[:-1] + ", then enter the PIN it shows."

AnyStep = ChallengeStep | PendingStep | RedirectStep | AuthenticatedStep


class LoginState(BaseModel):
    """A login in progress, stored sealed between browser requests."""

    username: str
    context: LoginContext
    package: Package
    index: int = 0
    #: The BFF's opaque id of each mechanism of the current challenge, in the package's order.
    ids: list[str] = Field(default_factory=list)
    pending: str | None = None
    #: The push number the tenant sent with StartOOB; later polls repeat it so the SPA can keep showing it.
    number: str | None = None
    last_poll_at: float = 0.0
    last_poll_step: dict[str, Any] | None = None
    #: A federated login (OobIdPAuth): ``ids`` holds its one mechanism id, ``context`` its IdpLoginSessionId.
    federated: bool = False
    #: The federated user finishes with the PIN the IdP's page shows.
    pin: bool = False

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Any) -> LoginState:
        return cls.model_validate(data)


@dataclass(frozen=True)
class Advanced:
    """What one call did: the step to show, and the login's outcome when it ended in success."""

    step: AnyStep
    logged_in: LoggedIn | None = None


class LoginFlow:
    """Drives one login through the tenant; see the module docstring."""

    def __init__(
        self,
        tenant: TenantClient,
        *,
        poll_min_interval: float,
        count_oob: Callable[[], Awaitable[int]],
        clock: Callable[[], float] = time.time,
        before_oob: Callable[[str], Awaitable[None]] | None = None,
        count_pin: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.tenant = tenant
        self.poll_min_interval = poll_min_interval
        self.clock = clock
        #: Counts one StartOOB of this login, atomically, and returns the count so far (this one included).
        self.count_oob = count_oob
        #: Awaited with the username right before a StartOOB is sent (a per-user limit may raise there).
        self.before_oob = before_oob
        #: Counts one PIN answer of this login, atomically, and returns the count so far (this one included).
        self.count_pin = count_pin

    async def begin(self, username: str) -> tuple[AnyStep, LoginState]:
        """StartAuthentication: the first step, and the state to keep."""
        started = await self.tenant.start(username)
        if isinstance(started, FederatedRedirect):
            mechanism = secrets.token_urlsafe(9)
            state = LoginState(
                username=username,
                context=started.context,
                package=Package(challenges=()),
                ids=[mechanism],
                pending=mechanism,
                federated=True,
                pin=started.pin,
            )
            return RedirectStep(url=started.url, mechanism=mechanism, pin=started.pin), state
        state = LoginState(username=username, context=started.context, package=started.package)
        return _present(state), state

    async def advance(
        self, state: LoginState, mechanism: str, *, answer: str | dict[str, str] | None
    ) -> Advanced:
        """Answer a mechanism (``answer`` given) or start it out of band (``answer`` is ``None``)."""
        if state.federated:
            return await self._answer_pin(state, mechanism, answer)
        mech = _mechanism(state, mechanism)
        if answer is None:
            if mech.kind == "text":
                raise InvalidRequest()
            # Counted before the per-user limit, so a refused sixth start spends none of the user's budget.
            if await self.count_oob() > MAX_OOB_STARTS:
                raise RateLimited(retry_after=60)
            if self.before_oob is not None:
                await self.before_oob(state.username)
            outcome, state.context = await self.tenant.start_oob(state.context, mech.id)
        else:
            if mech.kind == "oob":
                raise InvalidRequest()
            if isinstance(answer, dict) != bool(mech.questions):
                raise InvalidRequest()
            outcome, state.context = await self.tenant.answer(state.context, mech.id, answer)
        # The cached poll answer describes the previous start (its mechanism, its push number): drop it.
        state.last_poll_step = None
        return self._follow(state, mechanism, mech, outcome)

    async def poll(self, state: LoginState) -> Advanced:
        """Poll the pending mechanism; faster than the minimum interval, the last answer is repeated."""
        if state.pending is None:
            raise InvalidRequest()
        now = self.clock()
        if state.last_poll_step is not None and now - state.last_poll_at < self.poll_min_interval:
            return Advanced(step=PendingStep.model_validate(state.last_poll_step))
        if state.federated:
            outcome, state.context = await self.tenant.oob_status(state.context, state.username)
            state.last_poll_at = now
            result = _federated(state, outcome)
        else:
            mechanism = state.pending
            mech = _mechanism(state, mechanism)
            outcome, state.context = await self.tenant.poll(state.context, mech.id)
            state.last_poll_at = now
            result = self._follow(state, mechanism, mech, outcome)
        if isinstance(result.step, PendingStep):
            state.last_poll_step = result.step.model_dump()
        return result

    async def cancel(self, state: LoginState) -> None:
        await self.tenant.cleanup(state.context)

    async def _answer_pin(
        self, state: LoginState, mechanism: str, answer: str | dict[str, str] | None
    ) -> Advanced:
        """The PIN the IdP's page showed; anything else on a federated login is a bad request."""
        if not isinstance(answer, str) or not state.pin:
            raise InvalidRequest()
        if not secrets.compare_digest(state.ids[0].encode(), mechanism.encode()):
            raise InvalidRequest()
        # One PIN per login reaches the tenant (a 6-digit PIN must not be guessed): a second one, after a
        # wrong one or one whose call failed, ends the login as a wrong PIN does.
        if self.count_pin is not None and await self.count_pin() > 1:
            raise LoginFailed("a PIN was already answered for this login")
        outcome, state.context = await self.tenant.answer_pin(state.context, state.username, answer)
        state.last_poll_step = None
        return _federated(state, outcome)

    def _follow(self, state: LoginState, mechanism: str, mech: Mechanism, outcome: Outcome) -> Advanced:
        if isinstance(outcome, Pending):
            if state.pending != mechanism:
                state.number = None
            state.pending = mechanism
            state.number = outcome.number or state.number
            return Advanced(step=PendingStep(mechanism=mechanism, prompt=mech.prompt, number=state.number))
        state.pending = None
        state.number = None
        state.last_poll_step = None
        if isinstance(outcome, NextChallenge):
            if state.index + 1 >= len(state.package.challenges):
                raise TenantProtocolError("the tenant moved past the last challenge")
            state.index += 1
            return Advanced(step=_present(state))
        if isinstance(outcome, NewPackage):
            state.package = outcome.package
            state.index = 0
            return Advanced(step=_present(state))
        if isinstance(outcome, LoggedIn):
            return _authenticated(outcome)
        raise LoginFailed()  # pragma: no cover - Outcome is exhaustive


def _authenticated(outcome: LoggedIn) -> Advanced:
    user = outcome.user
    view = UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        # The host the session's bearer calls go to, as for an OAuth session; not the tenant's own words
        # (a pod name for one login, a customer id for a federated one).
        tenant=tenant_host(outcome.base_url) if outcome.base_url else user.tenant,
    )
    return Advanced(step=AuthenticatedStep(user=view), logged_in=outcome)


def _federated(state: LoginState, outcome: Outcome) -> Advanced:
    """A federated login's poll or PIN answer as a step: still pending, or done."""
    if isinstance(outcome, Pending):
        prompt = FEDERATED_PIN_PROMPT if state.pin else FEDERATED_PROMPT
        return Advanced(step=PendingStep(mechanism=state.ids[0], prompt=prompt))
    if isinstance(outcome, LoggedIn):
        return _authenticated(outcome)
    raise TenantProtocolError("tenant answered a federated login with a challenge")


def _present(state: LoginState) -> ChallengeStep:
    """Show the current challenge with fresh opaque ids (ids from an earlier challenge stop working)."""
    if not state.package.challenges:
        raise TenantProtocolError("the tenant sent a package without challenges")
    challenge = state.package.challenges[state.index]
    state.ids = [secrets.token_urlsafe(9) for _ in challenge.mechanisms]
    views = [
        MechanismView(
            id=bid,
            name=m.name,
            kind=m.kind,
            label=m.label,
            prompt=m.prompt,
            questions=[QuestionView(id=q.id, text=q.text) for q in m.questions] if m.questions else None,
        )
        for bid, m in zip(state.ids, challenge.mechanisms, strict=True)
    ]
    return ChallengeStep(
        challenge=ChallengeView(index=state.index, count=len(state.package.challenges), mechanisms=views)
    )


def _mechanism(state: LoginState, mechanism: str) -> Mechanism:
    challenge = state.package.challenges[state.index]
    wanted = mechanism.encode()
    for bid, mech in zip(state.ids, challenge.mechanisms, strict=True):
        # Bytes: compare_digest raises TypeError on non-ASCII str, and an id is whatever the browser sent.
        if secrets.compare_digest(bid.encode(), wanted):
            return mech
    raise InvalidRequest()
