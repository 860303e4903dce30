"""The tenant's ``Result`` objects mapped onto our models; the only place that knows their field names.

Every function takes an already parsed envelope ``Result`` and raises only
:class:`~app.errors.TenantProtocolError`; what a reply *means* for the login (failure, rate limit) is
decided by the client. The typed field readers (``req_str``, ``opt_str``, ...) are at the bottom, beside
the parsers that use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from app.errors import TenantProtocolError
from app.identity.models import (
    Challenge,
    Mechanism,
    MechanismKind,
    NextChallenge,
    Package,
    Pending,
    Question,
    TenantUser,
)

#: AnswerType -> what the user does. QR is only ever polled, so it behaves like an out-of-band mechanism.
ANSWER_KINDS: dict[str, MechanismKind] = {
    "text": "text",
    "starttextoob": "text_oob",
    "startoob": "oob",
    "qr": "oob",
}

# A bare host name or IPv4 address, with an optional port: no scheme, path, user info or spaces.
_POD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class PodRedirect:
    """StartAuthentication asks to send the same request to another pod."""

    pod: str


@dataclass(frozen=True, slots=True)
class PackageReply:
    """A challenge package, with what the client needs besides the package itself."""

    package: Package
    session_id: str | None = field(repr=False)
    tenant_id: str | None
    pod: str | None
    retry_after: float


@dataclass(frozen=True, slots=True)
class FederatedReply:
    """The user signs in at an external identity provider, out of band (``OobIdPAuth``, spec §1.1).

    ``url`` is the short URL when the tenant sent one, else ``IdpRedirectUrl``; ``session_id`` is the
    ``IdpLoginSessionId`` the later calls name (never shown to the browser).
    """

    url: str
    session_id: str = field(repr=False)
    pin_required: bool = False


@dataclass(frozen=True, slots=True)
class IdpSuccess:
    """A federated login is done: the bearer (``Token``), its lifetime, and the user when the tenant said."""

    token: str | None = field(repr=False)
    lifetime: float | None
    user: TenantUser | None


@dataclass(frozen=True, slots=True)
class SuccessReply:
    """Logged in; the token itself comes from the ``.ASPXAUTH`` cookie, not from this body."""

    user: TenantUser


@dataclass(frozen=True, slots=True)
class NoncommittalReply:
    """``NoncommitalSuccess``: the tenant ends the flow without a login."""


StartReply = PodRedirect | PackageReply | FederatedReply | SuccessReply
AdvanceReply = NextChallenge | Pending | PackageReply | SuccessReply | NoncommittalReply


def parse_start(result: dict[str, Any] | None) -> StartReply:
    """Read a successful StartAuthentication ``Result``."""
    data = as_object(result, "StartAuthentication result")
    summary = opt_str(data, "Summary")
    if summary == "LoginSuccess":
        return SuccessReply(parse_user(data))
    if opt_str(data, "IdpRedirectUrl") is not None or opt_str(data, "IdpRedirectShortUrl") is not None:
        return parse_federated(data)
    if data.get("Challenges") is not None:
        reply = parse_package_reply(data)
        if reply.session_id is None:
            raise TenantProtocolError("tenant package has no SessionId")
        return reply
    pod = parse_pod(data)
    if pod is not None:
        return PodRedirect(pod)
    raise TenantProtocolError("tenant StartAuthentication result is neither a package nor a redirect")


def _http_url(data: dict[str, Any], key: str) -> str | None:
    url = opt_str(data, key)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TenantProtocolError(f"tenant {key} is not an http(s) URL")
    return url


def parse_federated(data: dict[str, Any]) -> FederatedReply:
    """A federated user's StartAuthentication ``Result`` (the BFF always sends ``OobIdPAuth: true``).

    Without ``IdpLoginSessionId`` the login could only end in the browser at the tenant's own domain,
    out of the BFF's reach: that is not the answer to the request the BFF sent.
    """
    long_url = _http_url(data, "IdpRedirectUrl")
    url = _http_url(data, "IdpRedirectShortUrl") or long_url
    if url is None:  # parse_start comes here only when one of them is set
        raise TenantProtocolError("tenant federated answer has no URL")
    session_id = opt_str(data, "IdpLoginSessionId")
    if session_id is None:
        raise TenantProtocolError("tenant federated answer has no IdpLoginSessionId")
    pin = data.get("IdpOobAuthPinRequired", False)
    if pin is None:
        pin = False
    if not isinstance(pin, bool):
        raise TenantProtocolError("tenant field 'IdpOobAuthPinRequired' is not a boolean")
    return FederatedReply(url, session_id, pin)


def parse_oob_status(result: dict[str, Any] | None) -> Pending | IdpSuccess | NoncommittalReply:
    """An ``OobAuthStatus`` ``Result``: ``State`` (any letter case) Pending, Success, or anything else."""
    data = as_object(result, "OobAuthStatus result")
    state = req_str(data, "State").lower()
    if state == "pending":
        return Pending()
    if state == "success":
        return IdpSuccess(req_str(data, "Token"), _lifetime(data), parse_optional_user(data))
    return NoncommittalReply()


def parse_pin_answer(result: dict[str, Any] | None) -> IdpSuccess | NoncommittalReply:
    """The AdvanceAuthentication ``Result`` of an ``OOBAUTHPIN`` answer; the token may come as a cookie."""
    data = as_object(result, "AdvanceAuthentication result")
    summary = req_str(data, "Summary")
    if summary == "LoginSuccess":
        return IdpSuccess(opt_str(data, "Token"), _lifetime(data), parse_optional_user(data))
    if summary in ("NoncommitalSuccess", "NoncommittalSuccess"):
        return NoncommittalReply()
    raise TenantProtocolError("tenant answered the PIN with neither a login nor a refusal")


def _lifetime(data: dict[str, Any]) -> float | None:
    # Absent or 0: no lifetime given (a bearer good for 0 seconds would be no login at all).
    return opt_seconds(data, "TokenLifetime") or None


def parse_advance(result: dict[str, Any] | None) -> AdvanceReply:
    """Read a successful AdvanceAuthentication ``Result`` by its ``Summary``."""
    data = as_object(result, "AdvanceAuthentication result")
    summary = req_str(data, "Summary")
    if summary == "StartNextChallenge":
        return NextChallenge()
    if summary == "OobPending":
        return Pending(number=opt_scalar_text(data, "GeneratedAuthValue"))
    if summary == "NewPackage":
        return parse_package_reply(data)
    if summary == "LoginSuccess":
        return SuccessReply(parse_user(data))
    # The tenant spells it "NoncommitalSuccess"; accept the dictionary spelling too.
    if summary in ("NoncommitalSuccess", "NoncommittalSuccess"):
        return NoncommittalReply()
    raise TenantProtocolError("tenant AdvanceAuthentication result has an unknown Summary")


def parse_pod(data: dict[str, Any]) -> str | None:
    """The ``PodFqdn`` host, checked to be a bare ``host[:port]``, or None."""
    pod = opt_str(data, "PodFqdn")
    if pod is None:
        return None
    if not _POD.fullmatch(pod):
        raise TenantProtocolError("tenant PodFqdn is not a bare host name")
    return pod.lower()


def parse_package_reply(data: dict[str, Any]) -> PackageReply:
    """A package ``Result`` (StartAuthentication or ``NewPackage``)."""
    return PackageReply(
        package=parse_package(data),
        session_id=opt_str(data, "SessionId"),
        tenant_id=opt_str(data, "TenantId"),
        pod=parse_pod(data),
        retry_after=opt_seconds(data, "RetryWaitingTime"),
    )


def parse_package(data: dict[str, Any]) -> Package:
    """``Challenges`` as a :class:`Package`; mechanisms of an unknown AnswerType are left out."""
    challenges = []
    for raw in req_list(data, "Challenges"):
        challenge = as_object(raw, "challenge")
        mechanisms = []
        for raw_mech in req_list(challenge, "Mechanisms"):
            mechanism = parse_mechanism(as_object(raw_mech, "mechanism"))
            if mechanism is not None:
                mechanisms.append(mechanism)
        if not mechanisms:
            # A challenge the BFF cannot satisfy at all would strand the user mid-login; say so now.
            raise TenantProtocolError("tenant challenge has no mechanism the BFF supports")
        challenges.append(Challenge(mechanisms=tuple(mechanisms)))
    return Package(challenges=tuple(challenges))


def parse_mechanism(data: dict[str, Any]) -> Mechanism | None:
    """One mechanism, or None when its AnswerType is one the BFF does not know (e.g. a FIDO key)."""
    kind = ANSWER_KINDS.get(req_str(data, "AnswerType").lower())
    if kind is None:
        return None
    name = req_str(data, "Name")
    mechanism_id = req_str(data, "MechanismId")
    label = opt_str(data, "PromptSelectMech") or name
    # A single security question may carry its text in "Question" rather than in the prompt.
    question = data.get("Question")
    prompt = opt_str(data, "PromptMechChosen") or (
        question if isinstance(question, str) and question else None
    )
    questions = parse_questions(data)
    return Mechanism(id=mechanism_id, name=name, kind=kind, label=label, prompt=prompt, questions=questions)


def parse_questions(data: dict[str, Any]) -> tuple[Question, ...] | None:
    """The parts of a multi-part security question, or None."""
    multipart = data.get("MultipartMechanism")
    if multipart is None:
        return None
    parts = req_list(as_object(multipart, "MultipartMechanism"), "MechanismParts")
    questions = []
    for raw in parts:
        part = as_object(raw, "mechanism part")
        questions.append(Question(id=req_str(part, "Uuid"), text=req_str(part, "QuestionText")))
    return tuple(questions)


def parse_user(data: dict[str, Any]) -> TenantUser:
    """The user fields of a ``LoginSuccess`` result."""
    return TenantUser(
        id=req_str(data, "UserId"),
        username=req_str(data, "User"),
        display_name=opt_str(data, "DisplayName"),
        email=opt_str(data, "EmailAddress"),
        tenant=opt_str(data, "PodFqdn") or opt_str(data, "CustomerID"),
    )


def parse_optional_user(data: dict[str, Any]) -> TenantUser | None:
    """The user fields of a result that may or may not carry them (federated logins): both ``User`` and
    ``UserId``, or None."""
    if opt_str(data, "User") is None or opt_str(data, "UserId") is None:
        return None
    return parse_user(data)


def parse_whoami_user(result: dict[str, Any] | None, typed: str) -> TenantUser:
    """The user of a ``Whoami`` result: ``UserUuid`` is the id, ``User`` the name (else what was typed)."""
    data = as_object(result, "Whoami result")
    return TenantUser(
        id=req_str(data, "UserUuid"),
        username=opt_str(data, "User") or typed,
        tenant=opt_str(data, "TenantId"),
    )


# Typed field access: every read of a tenant field goes through one of these, so a wrong type is always
# a TenantProtocolError and never a KeyError/TypeError deep inside the client.


def req_str(data: dict[str, Any], key: str) -> str:
    """``data[key]`` as a non-empty string."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise TenantProtocolError(f"tenant field {key!r} is missing or not a string")
    return value


def opt_str(data: dict[str, Any], key: str) -> str | None:
    """``data[key]`` as a string, or None when absent, null or empty."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TenantProtocolError(f"tenant field {key!r} is not a string")
    return value


def opt_scalar_text(data: dict[str, Any], key: str) -> str | None:
    """``data[key]`` as text when it is a string or an integer (numbers the tenant may send either way)."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TenantProtocolError(f"tenant field {key!r} is not a string or an integer")
    return str(value)


def opt_seconds(data: dict[str, Any], key: str) -> float:
    """``data[key]`` as a non-negative finite number of seconds; 0 when absent or null."""
    value = data.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TenantProtocolError(f"tenant field {key!r} is not a number")
    try:
        seconds = float(value)
    except OverflowError as exc:
        raise TenantProtocolError(f"tenant field {key!r} is out of range") from exc
    if not 0 <= seconds < float("inf"):
        raise TenantProtocolError(f"tenant field {key!r} is not a sensible number of seconds")
    return seconds


def req_list(data: dict[str, Any], key: str) -> list[Any]:
    """``data[key]`` as a non-empty list."""
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise TenantProtocolError(f"tenant field {key!r} is missing or not a non-empty list")
    return value


def as_object(value: Any, what: str) -> dict[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, dict):
        raise TenantProtocolError(f"tenant {what} is not an object")
    return value
