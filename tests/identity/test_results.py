"""Tenant results mapped onto our models; garbage anywhere in them is a protocol error, nothing else."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.errors import TenantProtocolError
from app.identity.models import Mechanism, NextChallenge, Pending, Question, TenantUser
from app.identity.results import (
    FederatedReply,
    NoncommittalReply,
    PackageReply,
    PodRedirect,
    SuccessReply,
    parse_advance,
    parse_mechanism,
    parse_start,
)
from tests.identity.samples import PACKAGE_RESULT, SUCCESS_RESULT, json_values, mechanism, package
from tests.identity.whoami import parse_whoami


def test_a_package_becomes_challenges_of_typed_mechanisms() -> None:
    reply = parse_start(PACKAGE_RESULT)
    assert isinstance(reply, PackageReply)
    assert reply.session_id == "c2e3-session-opaque"
    assert reply.tenant_id == "ABC1234"
    assert reply.pod == "abc1234.id.cyberark.cloud"
    assert reply.retry_after == 0
    first, second = reply.package.challenges
    assert first.mechanisms == (
        Mechanism(id="m-up", name="UP", kind="text", label="Select UP", prompt="Enter UP"),
    )
    assert [(m.name, m.kind) for m in second.mechanisms] == [
        ("EMAIL", "text_oob"),
        ("PF", "oob"),
        ("QR", "oob"),
        ("SQ", "text"),
    ]
    assert second.mechanisms[3].questions == (
        Question(id="q1", text="First pet?"),
        Question(id="q2", text="Home town?"),
    )


def test_a_missing_prompt_select_mech_falls_back_to_the_name() -> None:
    raw = mechanism("OATH", "Text", "m-oath")
    del raw["PromptSelectMech"]
    del raw["PromptMechChosen"]
    parsed = parse_mechanism(raw)
    assert parsed is not None
    assert (parsed.label, parsed.prompt, parsed.kind) == ("OATH", None, "text")


def test_a_single_security_question_uses_its_question_as_prompt() -> None:
    raw = mechanism("SQ", "Text", "m-sq", Question="Favourite colour?")
    del raw["PromptMechChosen"]
    parsed = parse_mechanism(raw)
    assert parsed is not None
    assert parsed.prompt == "Favourite colour?"


def test_an_unknown_answer_type_is_left_out() -> None:
    data = package(
        Challenges=[{"Mechanisms": [mechanism("U2F", "Fido2", "m-u2f"), mechanism("UP", "Text", "up")]}]
    )
    reply = parse_start(data)
    assert isinstance(reply, PackageReply)
    assert [m.name for m in reply.package.challenges[0].mechanisms] == ["UP"]


def test_a_challenge_with_only_unknown_mechanisms_is_a_protocol_error() -> None:
    with pytest.raises(TenantProtocolError):
        parse_start(package(Challenges=[{"Mechanisms": [mechanism("U2F", "Fido2", "m-u2f")]}]))


def test_the_mechanism_id_stays_out_of_the_repr() -> None:
    parsed = parse_mechanism(mechanism("UP", "Text", "secret-mechanism-id"))
    assert "secret-mechanism-id" not in repr(parsed)


def test_a_retry_waiting_time_is_carried() -> None:
    reply = parse_start(package(RetryWaitingTime=42))
    assert isinstance(reply, PackageReply)
    assert reply.retry_after == 42


def test_a_bare_pod_fqdn_is_a_redirect() -> None:
    assert parse_start({"PodFqdn": "ABC1234.id.cyberark.cloud"}) == PodRedirect("abc1234.id.cyberark.cloud")
    assert parse_start({"PodFqdn": "127.0.0.1:8443"}) == PodRedirect("127.0.0.1:8443")


@pytest.mark.parametrize(
    "pod",
    ["https://evil.example", "evil.example/path", "user@evil.example", "evil .example", "a.example\n", "-x"],
)
def test_a_pod_fqdn_that_is_not_a_bare_host_is_a_protocol_error(pod: str) -> None:
    with pytest.raises(TenantProtocolError):
        parse_start({"PodFqdn": pod})


def test_a_federated_user_gets_the_idp_url() -> None:
    reply = parse_start({"IdpRedirectUrl": "https://idp.example/sso?x=1", "IdpLoginSessionId": "s"})
    assert reply == FederatedReply("https://idp.example/sso?x=1", "s", False)


def test_a_federated_url_that_is_not_http_is_a_protocol_error() -> None:
    with pytest.raises(TenantProtocolError):
        parse_start({"IdpRedirectUrl": "javascript:alert(1)"})


def test_a_start_package_without_session_id_is_a_protocol_error() -> None:
    data = package()
    del data["SessionId"]
    with pytest.raises(TenantProtocolError):
        parse_start(data)


def test_an_empty_start_result_is_a_protocol_error() -> None:
    with pytest.raises(TenantProtocolError):
        parse_start({})


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"Summary": "StartNextChallenge"}, NextChallenge()),
        ({"Summary": "OobPending"}, Pending(number=None)),
        ({"Summary": "OobPending", "GeneratedAuthValue": "42"}, Pending(number="42")),
        ({"Summary": "OobPending", "GeneratedAuthValue": 7}, Pending(number="7")),
        ({"Summary": "NoncommitalSuccess", "ClientMessage": "Check your mail"}, NoncommittalReply()),
    ],
)
def test_each_advance_summary_has_its_outcome(result: dict[str, Any], expected: object) -> None:
    assert parse_advance(result) == expected


def test_a_new_package_is_read_like_a_start_package() -> None:
    reply = parse_advance(package(Challenges=[{"Mechanisms": [mechanism("RESET", "Text", "m-reset")]}]))
    assert isinstance(reply, PackageReply)
    assert reply.package.challenges[0].mechanisms[0].name == "RESET"


def test_login_success_gives_the_user_under_our_names() -> None:
    assert parse_advance(SUCCESS_RESULT) == SuccessReply(
        TenantUser(
            id="2f9c-user-id",
            username="jane@example.com",
            display_name="Jane Doe",
            email="jane@example.com",
            tenant="abc1234.id.cyberark.cloud",
        )
    )


def test_the_tenant_falls_back_to_the_customer_id() -> None:
    reply = parse_advance({**SUCCESS_RESULT, "PodFqdn": None})
    assert isinstance(reply, SuccessReply)
    assert reply.user.tenant == "ABC1234"


@pytest.mark.parametrize("result", [{"Summary": "Bogus"}, {}, {"Summary": 1}, None])
def test_an_unknown_advance_result_is_a_protocol_error(result: Any) -> None:
    with pytest.raises(TenantProtocolError):
        parse_advance(result)


def test_whoami_under_our_names() -> None:
    assert parse_whoami({"User": "jane@example.com", "UserUuid": "u-1", "TenantId": "ABC1234"}) == {
        "username": "jane@example.com",
        "id": "u-1",
        "tenant_id": "ABC1234",
    }


# Property tests: random results, and valid results with one value anywhere swapped for garbage.


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _paths(child, (*prefix, index))
    return paths


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copied = copy.deepcopy(value)
    target = copied
    for step in path[:-1]:
        target = target[step]
    if new is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return copied


_DELETE = object()
garbage = json_values | st.just(_DELETE)


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    path = draw(st.sampled_from(_paths(original)))
    return _replace(original, path, draw(garbage))  # type: ignore[no-any-return]


@given(json_values)
def test_a_random_start_result_parses_or_is_a_protocol_error(value: Any) -> None:
    try:
        reply = parse_start(value)
    except TenantProtocolError:
        return
    assert isinstance(reply, PodRedirect | PackageReply | FederatedReply | SuccessReply)


@given(json_values)
def test_a_random_advance_result_parses_or_is_a_protocol_error(value: Any) -> None:
    try:
        reply = parse_advance(value)
    except TenantProtocolError:
        return
    assert isinstance(reply, SuccessReply | NextChallenge | Pending | PackageReply | NoncommittalReply)


@given(mutated(PACKAGE_RESULT))
@example(package(RetryWaitingTime="5"))
@example(package(Challenges=[{"Mechanisms": [{"Name": "UP", "AnswerType": None, "MechanismId": "x"}]}]))
def test_a_package_with_a_wrong_field_parses_or_is_a_protocol_error(value: dict[str, Any]) -> None:
    try:
        reply = parse_start(value)
    except TenantProtocolError:
        return
    if isinstance(reply, PackageReply):
        for challenge in reply.package.challenges:
            assert challenge.mechanisms
            assert all(m.kind in ("text", "oob", "text_oob") for m in challenge.mechanisms)


@given(mutated(SUCCESS_RESULT))
def test_a_success_with_a_wrong_field_parses_or_is_a_protocol_error(value: dict[str, Any]) -> None:
    try:
        reply = parse_advance(value)
    except TenantProtocolError:
        return
    assert isinstance(reply, SuccessReply | NextChallenge | Pending | PackageReply | NoncommittalReply)


@given(mutated({"Summary": "OobPending", "GeneratedAuthValue": "42"}))
def test_a_pending_with_a_wrong_field_parses_or_is_a_protocol_error(value: dict[str, Any]) -> None:
    try:
        reply = parse_advance(value)
    except TenantProtocolError:
        return
    assert isinstance(reply, Pending | NextChallenge | PackageReply | SuccessReply | NoncommittalReply)
