"""Mechanism entries of a challenge package, shaped like a real tenant's, with fresh opaque ids per login."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from simulator.users import User

# A 1x1 PNG: QR mechanisms carry an Image a client could show; nobody scans it, approval goes via /_sim/.
_QR_IMAGE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@dataclass
class Mechanism:
    """One offered way to satisfy a challenge, e.g. ``build_mechanism("UP", user).payload["MechanismId"]``."""

    id: str
    name: str
    answer_type: str
    payload: dict[str, Any]


def new_mechanism_id() -> str:
    return secrets.token_urlsafe(36)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else f"{local[:1]}***"


def last_digits(phone: str | None) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits[-4:]


def _answer_type(name: str, user: User | None) -> str:
    if name in ("UP", "SQ", "RESET"):
        return "Text"
    if name == "OATH":
        return user.oath_answer_type if user else "StartTextOob"
    if name == "PF":
        return "StartOob"
    if name == "QR":
        return "QR"
    return "StartTextOob"


def _texts(name: str, user: User | None) -> tuple[str, str, dict[str, Any]]:
    """(PromptSelectMech, PromptMechChosen, extra fields) for one mechanism kind."""
    phone = last_digits(user.phone if user else None)
    if name == "UP":
        return "Password", "Enter Password", {}
    if name == "RESET":
        return "Reset Password", "Enter a new password", {}
    if name == "EMAIL":
        masked = mask_email(user.email if user else "")
        return (
            f"Email... {masked}",
            "Click the link in the email, or enter the code it contains",
            {"MaskedEmailAddress": masked},
        )
    if name == "SMS":
        return (
            f"Text message (SMS)... XXX-XXX-{phone}",
            "Enter the code sent by text message",
            {"PartialPhoneNumber": phone},
        )
    if name == "PF":
        return f"Phone call... XXX-XXX-{phone}", "Answer the phone call", {"PartialPhoneNumber": phone}
    if name == "OATH":
        return "OATH OTP Client", "Enter the code from your authenticator app", {}
    if name == "OTP":
        device = user.device if user else "Sim Phone"
        return (
            "Mobile Authenticator",
            f"Approve the notification sent to {device}",
            {"PartialDeviceAddress": device},
        )
    if name == "QR":
        return "QR Code", "Scan the QR code with the CyberArk Identity app", {"Image": _QR_IMAGE}
    # SQ
    if user and user.sq_multipart:
        parts = [{"Uuid": q.uuid, "QuestionText": q.question} for q in user.security_questions]
        return (
            "Security Questions",
            "Answer the security questions",
            {"MultipartMechanism": {"MechanismParts": parts}},
        )
    question = user.security_questions[0].question if user and user.security_questions else ""
    return "Security Question", question, {"Question": question}


def build_mechanism(name: str, user: User | None) -> Mechanism:
    """A mechanism entry for ``user`` (``None``: the decoy offered to unknown usernames)."""
    mech_id = new_mechanism_id()
    answer_type = _answer_type(name, user)
    select, chosen, extra = _texts(name, user)
    payload: dict[str, Any] = {
        "AnswerType": answer_type,
        "Name": name,
        "PromptMechChosen": chosen,
        "PromptSelectMech": select,
        "MechanismId": mech_id,
        "Enrolled": True,
        **extra,
    }
    if user and name in user.omit_prompt_select:
        # Some tenants leave it out; clients must fall back to Name.
        del payload["PromptSelectMech"]
    return Mechanism(mech_id, name, answer_type, payload)


def build_challenges(names: list[list[str]], user: User | None) -> list[list[Mechanism]]:
    return [[build_mechanism(name, user) for name in challenge] for challenge in names]


def challenges_json(challenges: list[list[Mechanism]]) -> list[dict[str, Any]]:
    return [{"Mechanisms": [m.payload for m in challenge]} for challenge in challenges]
