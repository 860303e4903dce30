"""The envelope reader: the tenant's JSON shape, or a protocol error, never anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.errors import TenantProtocolError
from app.identity.envelope import Envelope, is_token_rejection, parse_envelope, rejects_token
from app.identity.results import opt_seconds
from tests.identity.samples import PACKAGE_RESULT, body, json_values


def test_a_successful_envelope_is_read() -> None:
    envelope = parse_envelope(200, body(PACKAGE_RESULT))
    assert envelope == Envelope(success=True, result=PACKAGE_RESULT)


def test_a_failure_envelope_is_read_not_raised() -> None:
    envelope = parse_envelope(200, body({"Summary": "Failure"}, success=False))
    assert envelope.success is False
    assert envelope.result == {"Summary": "Failure"}


def test_a_null_result_is_none() -> None:
    assert parse_envelope(200, body(None, success=False)) == Envelope(success=False, result=None)


def test_the_result_stays_out_of_the_repr() -> None:
    assert "c2e3-session-opaque" not in repr(parse_envelope(200, body(PACKAGE_RESULT)))


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (404, b"<!DOCTYPE html><html><body><h2>404 - File or directory not found.</h2></body></html>"),
        (200, b"<!DOCTYPE html><html><body>Sign in</body></html>"),
        (200, b""),
        (200, b"null"),
        (200, b"[]"),
        (200, b'"success"'),
        (200, b"{}"),
        (200, b'{"success": "true", "Result": {}}'),
        (200, b'{"success": 1, "Result": {}}'),
        (200, b'{"success": true, "Result": []}'),
        (200, b'{"success": true, "Result": "ok"}'),
        (200, b'{"success": true, "Result": {"a": 1}'),
        (200, b"\xff\xfe\x00garbage"),
        (200, b"[" * 100_000),
        (201, body(PACKAGE_RESULT)),
    ],
)
def test_not_an_envelope_is_a_protocol_error(status: int, payload: bytes) -> None:
    with pytest.raises(TenantProtocolError):
        parse_envelope(status, payload)


def test_an_oversized_reply_is_a_protocol_error() -> None:
    with pytest.raises(TenantProtocolError):
        parse_envelope(200, body({"pad": "x" * (1024 * 1024)}))


@given(st.binary(max_size=300))
@example(b"NaN")
@example(b'{"success": true, "Result": {"RetryWaitingTime": 1e999}}')
def test_random_bytes_give_an_envelope_or_a_protocol_error(payload: bytes) -> None:
    try:
        envelope = parse_envelope(200, payload)
    except TenantProtocolError:
        return
    assert isinstance(envelope.success, bool)
    assert envelope.result is None or isinstance(envelope.result, dict)


@given(json_values)
def test_random_json_gives_an_envelope_or_a_protocol_error(value: Any) -> None:
    try:
        envelope = parse_envelope(200, json.dumps(value).encode())
    except TenantProtocolError:
        return
    assert isinstance(value, dict)
    assert envelope.success is value["success"]


@given(st.data())
def test_a_truncated_envelope_is_a_protocol_error(data: st.DataObject) -> None:
    full = body(PACKAGE_RESULT)
    cut = data.draw(st.integers(min_value=0, max_value=len(full) - 1))
    with pytest.raises(TenantProtocolError):
        parse_envelope(200, full[:cut])


@given(st.integers(min_value=500, max_value=599) | st.integers(min_value=300, max_value=499))
def test_any_status_but_200_is_a_protocol_error(status: int) -> None:
    with pytest.raises(TenantProtocolError):
        parse_envelope(status, body(PACKAGE_RESULT))


@pytest.mark.parametrize("value", [-1, "3", True, [], float("nan"), 10**400])
def test_seconds_of_the_wrong_type_or_range_are_a_protocol_error(value: Any) -> None:
    with pytest.raises(TenantProtocolError):
        opt_seconds({"RetryWaitingTime": value}, "RetryWaitingTime")


@pytest.mark.parametrize(
    ("payload", "rejected"),
    [
        (b'{"success": false, "Result": null, "Message": "Not authenticated"}', True),
        (b'{"success": false, "Message": "Not authenticated"}', True),
        (b'{"success": false, "Result": {"Summary": "Failure"}}', False),
        (b'{"success": true, "Result": null}', False),
        (b"<html>", False),
        (b"[]", False),
    ],
)
def test_is_token_rejection(payload: bytes, rejected: bool) -> None:
    assert is_token_rejection(payload) is rejected


@pytest.mark.parametrize(
    ("body", "rejected"),
    [
        (b'{"success":false,"Result":null,"Message":"Not authenticated"}', True),
        (b'{"success" :\n false , "Result": null}', True),
        (b'{"Message":"x","IsSoftError":false,"success":false}', True),  # the key need not come first
        (b'{"Inner":{"success":true},"success":false,"Result":null}', True),  # nor be the first "success"
        (b'{"x":"\\"success\\": false","success":false}', True),
        (b'{"success":true,"Result":{"Apps":[]},"IsSoftError":false}', False),
        (b'{"success":false,"Result":{"Summary":"Failure"}}', False),  # a failure with a result
        (b'{"x":"\\"success\\": false","success":true}', False),  # the words inside a string value
        (b'{"successful":false}', False),
        (b"", False),
        (b'not json but "success": false', False),
    ],
)
def test_which_bodies_say_the_token_was_rejected(body: bytes, rejected: bool) -> None:
    assert rejects_token([body]) is rejected
    # Split anywhere, the answer is the same (the proxy may hold it in several chunks).
    assert rejects_token([body[:7], body[7:]]) is rejected
