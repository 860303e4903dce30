"""Pure parts checked directly: RFC 6238 vectors and the users-file validation messages."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from simulator.totp import totp, verify
from simulator.users import DEFAULT_USERS_FILE, UserFileError, load_users, parse_user

# RFC 6238 appendix B (SHA1 key "12345678901234567890"), last 6 of the 8 digits.
RFC_KEY = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924")]


@pytest.mark.parametrize(("at", "code"), RFC_VECTORS)
def test_totp_matches_rfc_6238(at: int, code: str) -> None:
    assert totp(RFC_KEY, at) == code


def test_totp_secret_may_be_lower_case_spaced_and_unpadded() -> None:
    spaced = " ".join(RFC_KEY.rstrip("=").lower()[i : i + 4] for i in range(0, 32, 4))
    assert totp(spaced, 59) == "287082"


def test_verify_window_is_one_step() -> None:
    assert verify(RFC_KEY, "287082", 59 + 30)
    assert verify(RFC_KEY, "287082", 59 - 30)
    assert not verify(RFC_KEY, "287082", 59 + 60)


def _user(**fields: Any) -> dict[str, Any]:
    return {"username": "u@example.com", "password": "p", "challenges": [["UP"]], **fields}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"password": "p", "challenges": [["UP"]]}, "username"),
        (_user(password=None), "password is required"),
        (_user(challenges=[]), "one or two lists"),
        (_user(challenges=[["UP"], ["SMS"], ["EMAIL"]]), "one or two lists"),
        (_user(challenges=[["UP", "UP"]]), "twice"),
        (_user(challenges=[["RESET"]]), "unknown mechanism"),
        (_user(challenges=[["UP"], ["SMS"]]), "phone"),
        (_user(challenges=[["OATH"]]), "totp_secret"),
        (_user(totp_secret="not base32!"), "base32"),
        (_user(challenges=[["SQ"]]), "security_questions"),
        (_user(oath_answer_type="Sms"), "oath_answer_type"),
        (_user(apps={"a": 1}), "apps"),
        (_user(omit_prompt_select="UP"), "omit_prompt_select"),
        (_user(number_matching="yes"), "number_matching"),
        ({"username": "f", "federated": True}, "idp_redirect_url"),
    ],
)
def test_bad_user_entries_name_the_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(UserFileError, match=message):
        parse_user(raw)


def test_duplicate_usernames_are_refused() -> None:
    with pytest.raises(UserFileError, match="twice"):
        load_users([_user(), _user(username="U@example.com ")])


def test_unreadable_file_is_a_user_file_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserFileError, match="cannot read"):
        load_users(tmp_path / "bad.json")
    (tmp_path / "obj.json").write_text(json.dumps({"people": []}))
    with pytest.raises(UserFileError, match="expected a JSON list"):
        load_users(str(tmp_path / "obj.json"))


def test_example_file_has_the_users_the_readme_promises() -> None:
    users = {u.username: u for u in load_users(DEFAULT_USERS_FILE)}
    assert users["demo@example.com"].password == "Demo-pass-1"
    shapes = [u.challenges for u in users.values()]
    assert [["UP"]] in shapes
    assert [["OATH"], ["UP"]] in shapes
    assert [["UP"], ["EMAIL", "SMS", "OTP", "OATH"]] in shapes
    assert any(u.federated for u in users.values())
    assert any(u.must_reset_password for u in users.values())
    assert any(u.sq_multipart for u in users.values())
    assert any(u.omit_prompt_select for u in users.values())
    assert load_users(None)[0].username == load_users(DEFAULT_USERS_FILE)[0].username
