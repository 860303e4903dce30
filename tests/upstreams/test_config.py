"""``BFF_UPSTREAMS`` and ``BFF_ASSERTION_KEYS`` at start-up: defaults, and every refusal as one line naming
the upstream and field, exit status 2 (api.md §7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.configuration import configuration_problems
from app.settings import Settings
from app.upstreams.config import parse_upstreams
from tests.settings.test_settings import GOOD_SECRET, PRODUCTION, _run_app

ORDERS = {"name": "orders", "url": "https://orders.internal:8443/v1/", "allow": "GET /orders/*"}


def pem(key: object, password: bytes | None = None) -> str:
    encryption = BestAvailableEncryption(password) if password else NoEncryption()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption).decode()  # type: ignore[attr-defined]


def test_defaults_fill_in_prefix_token_audience_and_timeout() -> None:
    settings = Settings(
        _env_file=None, bff_upstreams=json.dumps([ORDERS]), bff_public_url="https://app.example"
    )  # type: ignore[call-arg]
    [orders] = settings.bff_upstreams
    assert orders.prefix == "/svc/orders"
    assert orders.url == "https://orders.internal:8443/v1"
    assert orders.mode == "assertion"
    assert orders.audience == "https://orders.internal:8443"  # the url's origin
    assert orders.timeout is None  # CYBERARK_TIMEOUT at use
    assert orders.ca_bundle is None
    assert settings.assertion_upstreams


def test_no_upstreams_by_default() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.bff_upstreams == () and not settings.assertion_upstreams


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({**ORDERS, "prefix": "/auth"}, "prefix: /auth overlaps the BFF's own /auth"),
        ({**ORDERS, "prefix": "/api/orders"}, "overlaps the BFF's own /api"),
        ({**ORDERS, "prefix": "/API"}, "overlaps the BFF's own /api"),
        ({**ORDERS, "prefix": "/.well-known/x"}, "overlaps the BFF's own /.well-known"),
        ({**ORDERS, "prefix": "/healthz"}, "overlaps the BFF's own /healthz"),
        ({**ORDERS, "prefix": "/metrics/x"}, "overlaps the BFF's own /metrics"),
        ({**ORDERS, "prefix": "/"}, "prefix: '/' must be /segment"),
        ({**ORDERS, "prefix": "/svc/orders/"}, "must be /segment"),
        ({**ORDERS, "prefix": "/svc/../api"}, "must be /segment"),
        ({**ORDERS, "prefix": "/svc/%61"}, "must be /segment"),
        ({**ORDERS, "prefix": "svc"}, "prefix: must start with /"),
        ({**ORDERS, "name": "Orders"}, "name: required, 1-32 characters"),
        ({**ORDERS, "name": "o" * 33}, "name: required"),
        ({k: v for k, v in ORDERS.items() if k != "url"}, "url: required"),
        ({**ORDERS, "url": "ftp://orders"}, "url: 'ftp://orders' is not an http(s) URL"),
        ({**ORDERS, "url": "https://orders?x=1"}, "may carry no query"),
        ({k: v for k, v in ORDERS.items() if k != "allow"}, "allow: required"),
        ({**ORDERS, "allow": "GRAB /orders"}, "allow: rule 'GRAB /orders': unknown method"),
        ({**ORDERS, "allow": "GET /orders/**/x"}, "allow: rule 'GET /orders/**/x': ** may only be"),
        ({**ORDERS, "token": "cookie"}, "token: 'cookie' is not one of assertion, access_token, none"),
        ({**ORDERS, "timeout": 0}, "timeout: seconds"),
        ({**ORDERS, "timeout": "5"}, "timeout: seconds"),
        ({**ORDERS, "ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle: cannot load /nonexistent/ca.pem"),
        ({**ORDERS, "tokn": "none"}, "tokn: unknown field"),
        ({**ORDERS, "audience": ""}, "audience: a non-empty string"),
    ],
)
def test_a_bad_entry_is_one_line_naming_the_upstream_and_field(entry: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match="^upstream .*") as caught:
        parse_upstreams(json.dumps([entry]))
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_two_upstreams_may_not_share_a_name_or_overlap() -> None:
    other = {**ORDERS, "name": "billing", "prefix": "/svc/orders/billing"}
    with pytest.raises(
        ValueError, match="upstream 'billing': prefix: /svc/orders/billing overlaps /svc/orders"
    ):
        parse_upstreams(json.dumps([ORDERS, other]))
    with pytest.raises(ValueError, match="upstream 'orders': name: used twice"):
        parse_upstreams(json.dumps([ORDERS, {**ORDERS, "prefix": "/orders"}]))
    # Siblings that only share a string prefix do not overlap.
    assert len(parse_upstreams(json.dumps([ORDERS, {**ORDERS, "name": "orders2"}]))) == 2


@pytest.mark.parametrize("text", ["{", '{"name": "orders"}', "[1]"])
def test_what_is_not_a_list_of_objects_is_refused(text: str) -> None:
    _, problems = configuration_problems(_env_file=None, bff_upstreams=text)
    [line] = problems
    assert line.startswith("BFF_UPSTREAMS: ")


@pytest.mark.parametrize(
    ("change", "variable", "says"),
    [
        (
            {"BFF_UPSTREAMS": json.dumps([{**ORDERS, "url": "http://orders.internal"}]),
             "BFF_ASSERTION_KEYS": "KEY", "BFF_PUBLIC_URL": "https://app.example"},
            "BFF_UPSTREAMS", "upstream 'orders': url: must be https:// in production",
        ),
        (
            {"BFF_UPSTREAMS": json.dumps([ORDERS]), "BFF_PUBLIC_URL": "https://app.example"},
            "BFF_ASSERTION_KEYS", "required in production when an upstream uses token assertion",
        ),
        (
            {"BFF_UPSTREAMS": json.dumps([ORDERS]), "BFF_ASSERTION_KEYS": "KEY"},
            "BFF_PUBLIC_URL", "required when an upstream uses token assertion",
        ),
        (
            {"BFF_UPSTREAMS": json.dumps([{**ORDERS, "prefix": "/api/x", "token": "none"}])},
            "BFF_UPSTREAMS", "overlaps the BFF's own /api",
        ),
        (
            {"BFF_UPSTREAMS": json.dumps([{**ORDERS, "allow": "GET orders", "token": "none"}])},
            "BFF_UPSTREAMS", "the path must start with /",
        ),
        ({"BFF_ASSERTION_KEYS": "not a key"}, "BFF_ASSERTION_KEYS", "no PEM block found"),
    ],
)  # fmt: skip
def test_production_refuses_with_one_line_and_exit_2(
    change: dict[str, str], variable: str, says: str, tmp_path: Path
) -> None:
    key = pem(ec.generate_private_key(ec.SECP256R1()))
    env = {**PRODUCTION, **{k: key if v == "KEY" else v for k, v in change.items()}}
    result = _run_app(env, tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"configuration error: {variable}: ") and says in line, line
    assert "Traceback" not in result.stderr and GOOD_SECRET not in result.stderr
    assert key.splitlines()[1] not in result.stderr  # never key material


def test_a_production_configuration_with_an_upstream_starts(tmp_path: Path) -> None:
    keys = tmp_path / "assertion-keys.pem"
    keys.write_text(pem(ec.generate_private_key(ec.SECP256R1())))
    upstreams = tmp_path / "upstreams.json"
    upstreams.write_text(json.dumps([ORDERS]))
    env = {
        **PRODUCTION,
        "BFF_UPSTREAMS_FILE": str(upstreams),
        "BFF_ASSERTION_KEYS_FILE": str(keys),
        "BFF_PUBLIC_URL": "https://app.example",
    }
    result = _run_app(env, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("key_pem", "says"),
    [
        (lambda: pem(ec.generate_private_key(ec.SECP384R1())), "EC keys must be on P-256"),
        (lambda: pem(rsa.generate_private_key(65537, 1024)), "RSA keys need at least 2048 bits"),  # noqa: S505
        (lambda: pem(ec.generate_private_key(ec.SECP256R1()), b"pw"), "is encrypted"),
        (
            lambda: ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
                Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
            "is not a private key",
        ),
    ],
)  # fmt: skip
def test_assertion_keys_that_cannot_sign_are_refused(key_pem: object, says: str) -> None:
    text = pem(ed25519.Ed25519PrivateKey.generate()) + key_pem()  # type: ignore[operator]
    _, problems = configuration_problems(_env_file=None, bff_assertion_keys=text)
    [line] = problems
    assert line.startswith("BFF_ASSERTION_KEYS: PEM block 2") and says in line, line
    assert not any(part in line for part in text.splitlines()[1:-1] if len(part) > 20)
