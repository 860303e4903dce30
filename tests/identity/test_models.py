"""Our models: JSON round trips for what the BFF stores, and no secrets in reprs."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from app.identity.models import LoggedIn, LoginContext, Package, User
from app.identity.results import PackageReply, parse_start
from tests.identity.samples import PACKAGE_RESULT


def test_a_login_context_survives_json() -> None:
    ctx = LoginContext(
        base_url="https://pod.example", session_id="sess", tenant_id="ABC", cookies={"SimLB": "x"}
    )
    assert LoginContext.from_dict(json.loads(json.dumps(ctx.to_dict()))) == ctx


def test_a_package_survives_json() -> None:
    reply = parse_start(PACKAGE_RESULT)
    assert isinstance(reply, PackageReply)
    assert Package.from_dict(json.loads(json.dumps(reply.package.to_dict()))) == reply.package


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {"base_url": "x", "session_id": 1},
        {"base_url": "x", "session_id": "s", "cookies": {"a": 1}},
    ],
)
def test_a_damaged_context_is_a_value_error(data: object) -> None:
    with pytest.raises(ValueError):
        LoginContext.from_dict(data)


def test_a_damaged_package_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        Package.from_dict({"challenges": [{"mechanisms": [{"id": "x", "name": "UP", "kind": "voice"}]}]})


def test_secrets_stay_out_of_reprs() -> None:
    ctx = LoginContext(
        base_url="https://pod.example", session_id="SESSION-SECRET", cookies={"SimLB": "COOKIE"}
    )
    logged_in = LoggedIn(token="TOKEN-SECRET", user=User(id="u", username="jane"))
    text = repr(ctx) + str(ctx) + repr(logged_in) + str(logged_in)
    for secret in ("SESSION-SECRET", "COOKIE", "TOKEN-SECRET"):
        assert secret not in text
