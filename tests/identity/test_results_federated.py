"""Federated (OobIdPAuth) results: the StartAuthentication answer, OobAuthStatus, the PIN's answer, Whoami."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from app.errors import TenantProtocolError
from app.identity.models import Pending, User
from app.identity.results import (
    FederatedReply,
    IdpSuccess,
    NoncommittalReply,
    parse_oob_status,
    parse_pin_answer,
    parse_start,
    parse_whoami_user,
)
from tests.identity.samples import SUCCESS_RESULT, json_values

FEDERATED = {
    "IdpRedirectUrl": "https://idp.example/saml?req=1",
    "IdpRedirectShortUrl": "https://abc.id.cyberark.cloud/u/k3J",
    "IdpShortUrlId": "k3J",
    "IdpLoginSessionId": "idp-login-session",
    "IdpOobAuthPinRequired": True,
}


def test_the_short_url_is_preferred_and_the_login_session_kept() -> None:
    reply = parse_start(FEDERATED)
    assert reply == FederatedReply("https://abc.id.cyberark.cloud/u/k3J", "idp-login-session", True)
    assert "idp-login-session" not in repr(reply)


def test_without_a_short_url_the_long_one_is_used_and_no_pin_is_false() -> None:
    data = {k: v for k, v in FEDERATED.items() if k not in ("IdpRedirectShortUrl", "IdpOobAuthPinRequired")}
    assert parse_start(data) == FederatedReply("https://idp.example/saml?req=1", "idp-login-session", False)
    assert parse_start({**data, "IdpOobAuthPinRequired": None}) == parse_start(data)


@pytest.mark.parametrize(
    "change",
    [
        {"IdpLoginSessionId": None},  # a tenant that ignored OobIdPAuth: nothing to poll
        {"IdpRedirectShortUrl": "javascript:alert(1)"},
        {"IdpRedirectUrl": "data:text/html,hi"},
        {"IdpOobAuthPinRequired": "yes"},
        {"IdpLoginSessionId": 42},
    ],
)
def test_a_federated_answer_that_cannot_be_followed_is_a_protocol_error(change: dict[str, Any]) -> None:
    with pytest.raises(TenantProtocolError):
        parse_start({**FEDERATED, **change})


@pytest.mark.parametrize("state", ["Pending", "PENDING", "pending"])
def test_oob_status_pending_in_any_letter_case(state: str) -> None:
    assert parse_oob_status({"State": state}) == Pending()


def test_oob_status_success_gives_the_token_its_lifetime_and_maybe_the_user() -> None:
    reply = parse_oob_status({"State": "success", "Token": "T", "TokenLifetime": 3600, "RefreshToken": "R"})
    assert reply == IdpSuccess("T", 3600.0, None)
    assert "'T'" not in repr(reply)
    with_user = parse_oob_status({"State": "Success", "Token": "T", **SUCCESS_RESULT})
    assert isinstance(with_user, IdpSuccess) and with_user.user is not None
    assert with_user.user.username == "jane@example.com"
    assert parse_oob_status({"State": "Success", "Token": "T", "TokenLifetime": 0}) == IdpSuccess(
        "T", None, None
    )


@pytest.mark.parametrize("state", ["Failed", "Expired", "Denied", "Unknown"])
def test_any_other_oob_state_is_no_login(state: str) -> None:
    assert parse_oob_status({"State": state}) == NoncommittalReply()


@pytest.mark.parametrize(
    "result", [None, {}, {"State": 1}, {"State": "Success"}, {"State": "Success", "Token": ""}, []]
)
def test_a_malformed_oob_status_is_a_protocol_error(result: Any) -> None:
    with pytest.raises(TenantProtocolError):
        parse_oob_status(result)


def test_the_pin_answer_may_carry_the_token_or_leave_it_to_the_cookie() -> None:
    reply = parse_pin_answer({**SUCCESS_RESULT, "Token": "T", "TokenLifetime": 600})
    assert isinstance(reply, IdpSuccess) and (reply.token, reply.lifetime) == ("T", 600.0)
    assert reply.user is not None and reply.user.id == "2f9c-user-id"
    assert parse_pin_answer(SUCCESS_RESULT) == IdpSuccess(None, None, reply.user)
    assert parse_pin_answer({"Summary": "NoncommitalSuccess"}) == NoncommittalReply()
    with pytest.raises(TenantProtocolError):
        parse_pin_answer({"Summary": "StartNextChallenge"})


def test_whoami_gives_the_user_and_falls_back_to_the_typed_name() -> None:
    assert parse_whoami_user({"User": "jane@x", "UserUuid": "u1", "TenantId": "ABC"}, "Jane@X") == User(
        id="u1", username="jane@x", tenant="ABC"
    )
    assert parse_whoami_user({"UserUuid": "u1"}, "Jane@X").username == "Jane@X"
    with pytest.raises(TenantProtocolError):
        parse_whoami_user({"User": "jane@x"}, "jane@x")  # no id: no session can be keyed


@given(json_values)
def test_a_random_oob_status_parses_or_is_a_protocol_error(value: Any) -> None:
    try:
        reply = parse_oob_status(value)
    except TenantProtocolError:
        return
    assert isinstance(reply, Pending | IdpSuccess | NoncommittalReply)


@given(json_values)
def test_a_random_pin_answer_parses_or_is_a_protocol_error(value: Any) -> None:
    try:
        reply = parse_pin_answer(value)
    except TenantProtocolError:
        return
    assert isinstance(reply, IdpSuccess | NoncommittalReply)
