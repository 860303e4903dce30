"""The login conversation: StartAuthentication, AdvanceAuthentication and CleanupAuthentication.

Each function takes the parsed request, does its work under the state lock and returns a :class:`Reply`.
A failure ends the SessionId and counts towards the user's soft lockout (the spec's conservative reading).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from simulator import federation
from simulator.envelope import failure, ok
from simulator.mechanisms import Mechanism, build_challenges, build_mechanism, challenges_json
from simulator.state import Login, Oob, SimState
from simulator.totp import verify
from simulator.users import User, user_key

VERSION = "1.0"


@dataclass
class Reply:
    """A protocol answer: the JSON body and the raw ``Set-Cookie`` values to send with it."""

    body: dict[str, Any]
    cookies: list[str] = field(default_factory=list)


@dataclass
class Caller:
    """What the simulator needs to know about the HTTP request besides its JSON body."""

    host: str
    secure: bool
    lb_cookies: list[str] = field(default_factory=list)
    #: The client sent ``OobIdPAuth: true`` (federated users then get the out-of-band IdP flow).
    oob_idp_auth: bool = False


def _cookie(name: str, value: str, secure: bool, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# StartAuthentication ----------------------------------------------------------------------------------


def start(state: SimState, body: dict[str, Any], caller: Caller) -> Reply:
    """Answer /Security/StartAuthentication: pod redirect, federated hint or a challenge package."""
    username = body.get("User")
    if not isinstance(username, str) or not username.strip():
        return Reply(failure("Undefined"))
    with state.lock:
        chain = [h.lower() for h in state.config.pod_chain]
        host = caller.host.lower()
        if chain and host != chain[-1]:
            # Real tenants send the client to the user's pod; here the chain says where to go next.
            target = chain[chain.index(host) + 1] if host in chain else chain[0]
            return Reply(ok({"PodFqdn": target}))
        user = state.user(username)
        if user is not None and user.federated:
            return Reply(ok(federation.start(state, user, caller.host, caller.secure, caller.oob_idp_auth)))
        key = user_key(username)
        # Unknown users get a decoy password challenge so the answer does not reveal who exists.
        names = user.challenges if user is not None else [["UP"]]
        login = Login(
            session_id=secrets.token_urlsafe(48),
            key=key,
            user=user,
            challenges=build_challenges(names, user),
            lb_cookie=secrets.token_urlsafe(24),
            started_at=state.now(),
        )
        _activate(login)
        state.add_login(login)
        result: dict[str, Any] = {
            "ClientHints": {
                "PersistDefault": False,
                "AllowPersist": True,
                "AllowForgotPassword": True,
                "EndpointAuthenticationEnabled": False,
            },
            "Version": VERSION,
            "SessionId": login.session_id,
            "EventDescription": None,
            "RetryWaitingTime": state.retry_waiting_time(key),
            "SecurityImageName": None,
            "AllowLoginMfaCache": False,
            "Challenges": challenges_json(login.challenges),
            "Summary": "NewPackage",
            "TenantId": state.config.tenant_id,
        }
        if chain:
            # Real tenants name the current pod too; a client must notice it is already there and stop.
            result["PodFqdn"] = chain[-1]
    return Reply(ok(result), [_cookie("SimLB", login.lb_cookie, caller.secure)])


def _activate(login: Login) -> None:
    """Make the current challenge live: a QR code is pending as soon as it is shown."""
    for mech in login.challenges[login.index]:
        if mech.name == "QR":
            login.oobs[mech.id] = Oob("QR")


# AdvanceAuthentication --------------------------------------------------------------------------------


def advance(state: SimState, body: dict[str, Any], caller: Caller) -> Reply:
    """Answer /Security/AdvanceAuthentication for one Action on one mechanism."""
    if body.get("MechanismId") == federation.PIN_MECHANISM:
        return Reply(*federation.answer_pin(state, body, caller.host, caller.secure))
    with state.lock:
        session_id = body.get("SessionId")
        login = state.logins.get(session_id) if isinstance(session_id, str) else None
        if login is None:
            return Reply(failure())
        if state.now() - login.started_at > state.config.login_lifetime:
            return _fail(state, login, count=False)  # the tenant forgot this SessionId
        if any(not _same(value, login.lb_cookie) for value in caller.lb_cookies):
            # Another login's affinity cookie: the client is mixing two users' cookies.
            return _fail(state, login)
        if state.lockout_left(login.key) > 0:
            return _fail(state, login, count=False)
        mech = login.current(body.get("MechanismId"))
        if mech is None or login.user is None:
            return _fail(state, login)
        action = body.get("Action")
        if action == "StartOOB":
            return _start_oob(state, login, mech)
        if action == "Poll":
            return _poll(state, login, mech, body, caller)
        if action == "Answer":
            if _answer_ok(state, login, login.user, mech, body.get("Answer")):
                return _satisfied(state, login, mech, body, caller)
            return _fail(state, login)
        return _fail(state, login)


def _fail(state: SimState, login: Login, count: bool = True) -> Reply:
    state.logins.pop(login.session_id, None)
    if count:
        state.note_failure(login.key)
    return Reply(failure())


def _start_oob(state: SimState, login: Login, mech: Mechanism) -> Reply:
    if mech.answer_type not in ("StartTextOob", "StartOob", "QR"):
        return _fail(state, login)
    oob = Oob(mech.name)
    if mech.name in ("EMAIL", "SMS"):
        oob.code = f"{secrets.randbelow(10**6):06d}"
        state.codes[login.key] = oob.code
    if mech.name == "OTP" and login.user is not None and login.user.number_matching:
        oob.generated = str(10 + secrets.randbelow(90))
    login.oobs[mech.id] = oob
    result: dict[str, Any] = {"Summary": "OobPending"}
    if oob.generated is not None:
        result["GeneratedAuthValue"] = oob.generated
    return Reply(ok(result))


def _poll(state: SimState, login: Login, mech: Mechanism, body: dict[str, Any], caller: Caller) -> Reply:
    oob = login.oobs.get(mech.id)
    if oob is None:
        return _fail(state, login)
    if oob.state == "denied":
        return _fail(state, login)
    if oob.state == "approved":
        return _satisfied(state, login, mech, body, caller)
    return Reply(ok({"Summary": "OobPending"}))


def _answer_ok(state: SimState, login: Login, user: User, mech: Mechanism, answer: object) -> bool:
    if mech.answer_type == "StartTextOob" and mech.id not in login.oobs:
        return False  # StartTextOob needs StartOOB first, whatever the answer
    name = mech.name
    if name == "UP":
        return isinstance(answer, str) and _same(answer, user.password)
    if name == "RESET":
        return isinstance(answer, str) and bool(answer) and answer != user.password
    if name == "SQ":
        return _sq_ok(user, answer)
    if name in ("EMAIL", "SMS"):
        code = login.oobs[mech.id].code
        return isinstance(answer, str) and code is not None and _same(answer.strip(), code)
    if name in ("OATH", "OTP"):
        return (
            isinstance(answer, str)
            and user.totp_secret is not None
            and verify(user.totp_secret, answer.strip(), state.now())
        )
    return False  # PF and QR are satisfied by Poll only


def _sq_ok(user: User, answer: object) -> bool:
    questions = user.security_questions
    if not user.sq_multipart:
        return isinstance(answer, str) and _same(answer, questions[0].answer)
    if not isinstance(answer, dict):
        return False
    return all(isinstance(answer.get(q.uuid), str) and _same(answer[q.uuid], q.answer) for q in questions)


def _satisfied(state: SimState, login: Login, mech: Mechanism, body: dict[str, Any], caller: Caller) -> Reply:
    """The current challenge is met: next challenge, a forced password reset, or success."""
    user = login.user
    if user is None:  # decoy logins never get this far; kept for the type checker
        return _fail(state, login)
    if mech.name == "RESET":
        user.password = body["Answer"]
        user.must_reset_password = False
        return _success(state, login, user, body, caller)
    if mech.name == "UP" and user.must_reset_password and not login.resetting:
        login.resetting = True
        login.challenges = [[build_mechanism("RESET", user)]]
        login.index = 0
        login.oobs.clear()
        result = {
            "Summary": "NewPackage",
            "SessionId": login.session_id,
            "TenantId": state.config.tenant_id,
            "Version": VERSION,
            "EventDescription": "Your password has expired. Choose a new one.",
            "Challenges": challenges_json(login.challenges),
        }
        return Reply(ok(result))
    login.index += 1
    if login.index < len(login.challenges):
        login.oobs.clear()
        _activate(login)
        return Reply(ok({"Summary": "StartNextChallenge"}))
    return _success(state, login, user, body, caller)


def _success(state: SimState, login: Login, user: User, body: dict[str, Any], caller: Caller) -> Reply:
    state.logins.pop(login.session_id, None)
    state.failures.pop(login.key, None)
    duration, once = state.issue_tokens(user)
    persist = body.get("PersistentLogin") is True
    result = {
        "AuthLevel": "Normal",
        "DisplayName": user.display_name,
        "Auth": once.value,
        "UserId": user.uuid,
        "EmailAddress": user.email,
        "UserDirectory": "CDS",
        "PodFqdn": caller.host,
        "User": user.username,
        "CustomerID": state.config.tenant_id,
        "SystemID": state.config.tenant_id,
        "SourceDsType": "CDS",
        "Summary": "LoginSuccess",
    }
    cookies = [
        _cookie(".ASPXAUTH", duration.value, caller.secure, state.config.token_lifetime if persist else None),
        _cookie("CCSID", secrets.token_urlsafe(32), caller.secure),
    ]
    return Reply(ok(result), cookies)


# CleanupAuthentication --------------------------------------------------------------------------------


def cleanup(state: SimState, body: dict[str, Any]) -> Reply:
    """Answer /Security/CleanupAuthentication: the SessionId (if any) is forgotten."""
    session_id = body.get("SessionId")
    with state.lock:
        if isinstance(session_id, str):
            state.logins.pop(session_id, None)
    return Reply(ok(None))
