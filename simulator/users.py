"""The simulated directory: users loaded from JSON, checked once, with the secrets each mechanism needs."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.totp import decode_secret

#: The mechanisms a user file may enrol (RESET is only ever offered by the simulator itself).
MECHANISMS = ("UP", "SQ", "EMAIL", "SMS", "OATH", "OTP", "PF", "QR")
DEFAULT_USERS_FILE = Path(__file__).with_name("users.example.json")
DEFAULT_APPS_FILE = Path(__file__).with_name("apps.default.json")
_UUID_NAMESPACE = uuid.UUID("0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


class UserFileError(ValueError):
    """A users file entry is not valid; the message names the user and the field."""


@dataclass
class SecurityQuestion:
    """One enrolled question, e.g. ``SecurityQuestion("uuid", "First pet?", "Rex")``."""

    uuid: str
    question: str
    answer: str


@dataclass
class User:
    """A directory entry: ``parse_user({"username": "a@x", "password": "p", "challenges": [["UP"]]})``."""

    username: str
    password: str
    display_name: str
    email: str
    uuid: str
    challenges: list[list[str]]
    phone: str | None = None
    totp_secret: str | None = None
    security_questions: list[SecurityQuestion] = field(default_factory=list)
    sq_multipart: bool = False
    number_matching: bool = False
    federated: bool = False
    idp_redirect_url: str | None = None
    #: Federated: the IdP page shows a PIN, and the login ends only when the client answers it.
    idp_oob_pin_required: bool = False
    #: Federated: OobAuthStatus's Success carries the user fields (else a client asks Whoami).
    idp_user_fields: bool = False
    must_reset_password: bool = False
    apps: list[dict[str, Any]] | None = None
    oath_answer_type: str = "StartTextOob"
    omit_prompt_select: frozenset[str] = frozenset()
    device: str = "Sim Phone"

    @property
    def key(self) -> str:
        return user_key(self.username)


def user_key(username: str) -> str:
    """Usernames are matched without regard to case or surrounding blanks, as tenants do."""
    return username.strip().lower()


def _fail(who: str, what: str) -> UserFileError:
    return UserFileError(f"user {who!r}: {what}")


def _text(raw: dict[str, Any], name: str, who: str, required: bool = False) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _fail(who, f"{name} is required")
        return None
    if not isinstance(value, str) or not value:
        raise _fail(who, f"{name} must be a non-empty string")
    return value


def _required(raw: dict[str, Any], name: str, who: str) -> str:
    value = _text(raw, name, who, required=True)
    if value is None:  # unreachable: _text raises first; kept so the type is plain str
        raise _fail(who, f"{name} is required")
    return value


def _flag(raw: dict[str, Any], name: str, who: str) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        raise _fail(who, f"{name} must be true or false")
    return value


def _challenges(raw: dict[str, Any], who: str) -> list[list[str]]:
    value = raw.get("challenges")
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        raise _fail(who, "challenges must be a list of one or two lists of mechanism names")
    result: list[list[str]] = []
    for challenge in value:
        if not isinstance(challenge, list) or not challenge:
            raise _fail(who, "each challenge must be a non-empty list of mechanism names")
        names = []
        for name in challenge:
            if name not in MECHANISMS:
                raise _fail(who, f"unknown mechanism {name!r} (known: {', '.join(MECHANISMS)})")
            if name in names:
                raise _fail(who, f"mechanism {name} appears twice in one challenge")
            names.append(name)
        result.append(names)
    return result


def _questions(raw: dict[str, Any], who: str) -> list[SecurityQuestion]:
    value = raw.get("security_questions", [])
    if not isinstance(value, list):
        raise _fail(who, "security_questions must be a list of {question, answer}")
    questions = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _fail(who, "security_questions must be a list of {question, answer}")
        qid = _text(item, "uuid", who) or str(uuid.uuid5(_UUID_NAMESPACE, f"{who}/sq/{i}"))
        questions.append(
            SecurityQuestion(qid, _required(item, "question", who), _required(item, "answer", who))
        )
    return questions


def _omit(raw: dict[str, Any], who: str) -> frozenset[str]:
    value = raw.get("omit_prompt_select", False)
    if value is True:
        return frozenset(MECHANISMS) | {"RESET"}
    if value is False:
        return frozenset()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise _fail(who, "omit_prompt_select must be true, false or a list of mechanism names")


def parse_user(raw: object) -> User:
    """Check one users-file entry and build its :class:`User`; a :class:`UserFileError` names the field."""
    if not isinstance(raw, dict):
        raise UserFileError("each user must be a JSON object")
    who = raw.get("username")
    if not isinstance(who, str) or not who.strip():
        raise UserFileError("every user needs a non-empty username")
    federated = _flag(raw, "federated", who)
    if federated:
        challenges: list[list[str]] = []
        password = _text(raw, "password", who) or ""
        idp: str | None = _required(raw, "idp_redirect_url", who)
    else:
        challenges = _challenges(raw, who)
        password = _required(raw, "password", who)
        idp = None
    names = {n for c in challenges for n in c}
    phone = _text(raw, "phone", who)
    secret = _text(raw, "totp_secret", who)
    if secret is not None:
        try:
            decode_secret(secret)
        except ValueError as exc:
            raise _fail(who, "totp_secret must be base32") from exc
    if names & {"SMS", "PF"} and phone is None:
        raise _fail(who, "SMS and PF need a phone")
    if "OATH" in names and secret is None:
        raise _fail(who, "OATH needs a totp_secret")
    questions = _questions(raw, who)
    if "SQ" in names and not questions:
        raise _fail(who, "SQ needs security_questions")
    oath_type = raw.get("oath_answer_type", "StartTextOob")
    if oath_type not in ("StartTextOob", "Text"):
        raise _fail(who, "oath_answer_type must be StartTextOob or Text")
    apps = raw.get("apps")
    if apps is not None and not (isinstance(apps, list) and all(isinstance(a, dict) for a in apps)):
        raise _fail(who, "apps must be a list of objects")
    email = _text(raw, "email", who) or (who if "@" in who else f"{who}@example.com")
    return User(
        username=who.strip(),
        password=password,
        display_name=_text(raw, "display_name", who) or who,
        email=email,
        uuid=_text(raw, "uuid", who) or str(uuid.uuid5(_UUID_NAMESPACE, user_key(who))),
        challenges=challenges,
        phone=phone,
        totp_secret=secret,
        security_questions=questions,
        sq_multipart=_flag(raw, "sq_multipart", who),
        number_matching=_flag(raw, "number_matching", who),
        federated=federated,
        idp_redirect_url=idp,
        idp_oob_pin_required=_flag(raw, "idp_oob_pin_required", who),
        idp_user_fields=_flag(raw, "idp_user_fields", who),
        must_reset_password=_flag(raw, "must_reset_password", who),
        apps=copy.deepcopy(apps),
        oath_answer_type=oath_type,
        omit_prompt_select=_omit(raw, who),
        device=_text(raw, "device", who) or "Sim Phone",
    )


def load_users(source: list[dict[str, Any]] | str | Path | None) -> list[User]:
    """Users from a list of dicts, a JSON file path, or (None) the example file shipped with the simulator."""
    if source is None:
        source = DEFAULT_USERS_FILE
    if isinstance(source, str | Path):
        try:
            data: Any = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserFileError(
                f"{source}: cannot read a JSON users file ({exc.__class__.__name__})"
            ) from exc
        if isinstance(data, dict):
            data = data.get("users")
        if not isinstance(data, list):
            raise UserFileError(f"{source}: expected a JSON list of users (or {{'users': [...]}})")
    else:
        data = source
    users = [parse_user(raw) for raw in data]
    seen: set[str] = set()
    for user in users:
        if user.key in seen:
            raise UserFileError(f"user {user.username!r}: listed twice")
        seen.add(user.key)
    return users


def default_apps() -> list[dict[str, Any]]:
    """The ten applications every user sees unless their entry lists its own ``apps``."""
    apps: list[dict[str, Any]] = json.loads(DEFAULT_APPS_FILE.read_text(encoding="utf-8"))
    return apps
