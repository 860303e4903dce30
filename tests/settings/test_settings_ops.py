"""Configuration an operator gets right the first time: every error at once, typos warned about, secrets
from files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from app.configuration import configuration_problems
from app.settings import Settings
from app.variable_names import edit_distance, near_misses, unknown_variables, warn_unknown_variables
from tests.settings.test_settings import GOOD_SECRET, PRODUCTION, _run_app

FILE_SECRET = "f" * 48


def test_every_configuration_error_at_once_one_line_each_exit_2(tmp_path: Path) -> None:
    env = {
        "BFF_ENV": "production",
        "CYBERARK_TIMEOUT": "-1",  # bad on its own
        "BFF_TRUSTED_PROXIES": "not-a-cidr",  # bad on its own
        "BFF_SESSION_SECRETS_FILE": str(tmp_path / "missing"),  # unreadable
        "BFF_COOKIE_SECURE": "false",  # refused in production
        # and no CYBERARK_TENANT_URL, no BFF_REDIS_URL: required in production
    }
    result = _run_app(env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    named = [line.split(":")[1].strip() for line in lines]
    assert all(line.startswith("configuration error: ") for line in lines), lines
    assert sorted(named) == sorted(
        [
            "CYBERARK_TIMEOUT",
            "BFF_TRUSTED_PROXIES",
            "BFF_SESSION_SECRETS",
            "BFF_COOKIE_SECURE",
            "CYBERARK_TENANT_URL",
            "BFF_REDIS_URL",
        ]
    ), lines
    assert "Traceback" not in result.stderr


def test_a_check_about_a_variable_already_reported_is_not_repeated() -> None:
    settings, problems = configuration_problems(
        _env_file=None,
        bff_env="production",
        cyberark_tenant_url="https://abc1234.id.cyberark.cloud",
        bff_redis_url="redis://127.0.0.1:1/0",
        bff_session_secrets=["x" * 40],
        bff_session_idle_timeout=5,  # below its minimum: reported once, not again as "longer than max"
        bff_session_max_lifetime=100,
    )
    assert settings is None
    assert len(problems) == 1 and problems[0].startswith("BFF_SESSION_IDLE_TIMEOUT: "), problems


def test_secrets_are_read_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets").write_text(f"{FILE_SECRET},{GOOD_SECRET}\n")
    (tmp_path / "redis").write_text("redis://:pw@redis.internal:6379/0")
    monkeypatch.setenv("BFF_SESSION_SECRETS_FILE", str(tmp_path / "secrets"))
    monkeypatch.setenv("BFF_REDIS_URL_FILE", str(tmp_path / "redis"))
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.signing_secrets() == [FILE_SECRET.encode(), GOOD_SECRET.encode()]
    assert s.bff_redis_url is not None
    assert s.bff_redis_url.get_secret_value() == "redis://:pw@redis.internal:6379/0"


def test_a_production_start_with_every_secret_in_a_file(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(GOOD_SECRET + "\n")
    (tmp_path / "r").write_text(PRODUCTION["BFF_REDIS_URL"])
    env = {k: v for k, v in PRODUCTION.items() if k not in ("BFF_SESSION_SECRETS", "BFF_REDIS_URL")}
    env |= {"BFF_SESSION_SECRETS_FILE": str(tmp_path / "s"), "BFF_REDIS_URL_FILE": str(tmp_path / "r")}
    result = _run_app(env, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({"BFF_SESSION_SECRETS": GOOD_SECRET, "BFF_SESSION_SECRETS_FILE": "{dir}/s"}, "not both"),
        ({"BFF_SESSION_SECRETS_FILE": "{dir}/missing"}, "cannot read BFF_SESSION_SECRETS_FILE="),
        ({"BFF_SESSION_SECRETS_FILE": "{dir}"}, "cannot read BFF_SESSION_SECRETS_FILE="),
    ],
)
def test_a_bad_secret_file_is_one_line_naming_the_variable(
    env: dict[str, str], wanted: str, tmp_path: Path
) -> None:
    (tmp_path / "s").write_text(GOOD_SECRET)
    given = {k: v.format(dir=tmp_path) for k, v in env.items()}
    base = {k: v for k, v in PRODUCTION.items() if k != "BFF_SESSION_SECRETS"}
    result = _run_app({**base, **given}, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: BFF_SESSION_SECRETS: "), lines
    assert wanted in lines[0]
    assert GOOD_SECRET not in result.stderr


def test_unknown_variables_are_named_with_the_closest_known_one() -> None:
    found = unknown_variables(
        [
            "BFF_COOKIE_SECUR",
            "CYBERARK_TENANT_ULR",
            "BFF_SOMETHING_ELSE",
            "BFF_COOKIE_SECURE",
            "BFF_SESSION_SECRETS_FILE",
            "BFF_PORT",
            "BFF_WORKERS",
            "PATH",
            "OTEL_SERVICE_NAME",
        ]
    )
    assert found == [
        ("BFF_COOKIE_SECUR", "BFF_COOKIE_SECURE"),
        ("BFF_SOMETHING_ELSE", None),
        ("CYBERARK_TENANT_ULR", "CYBERARK_TENANT_URL"),
    ]


def test_unknown_variables_of_env_and_dotenv_are_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("BFF_LOG_LEVL=DEBUG\n")
    with caplog.at_level(logging.WARNING, logger="bff.settings"):
        warn_unknown_variables({"BFF_COOKIE_SECUR": "false", "HOME": "/root"}, env_file=dotenv)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "unknown variable BFF_COOKIE_SECUR is ignored (did you mean BFF_COOKIE_SECURE?)",
        "unknown variable BFF_LOG_LEVL is ignored (did you mean BFF_LOG_LEVEL?)",
    ]


def test_the_app_warns_about_a_typo_in_one_json_line(tmp_path: Path) -> None:
    # In development a near miss only warns (production refuses it: the test below).
    development = {**PRODUCTION, "BFF_ENV": "development"}
    result = _run_app({**development, "BFF_COOKIE_SECUR": "false"}, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    typo = [line for line in lines if line.get("variable") == "BFF_COOKIE_SECUR"]
    assert len(typo) == 1 and typo[0]["level"] == "warning"
    assert "BFF_COOKIE_SECURE" in typo[0]["message"]


def test_production_refuses_plain_http_to_the_tenant_and_from_listed_origins(tmp_path: Path) -> None:
    tenant = _run_app({**PRODUCTION, "CYBERARK_TENANT_URL": "http://abc1234.id.cyberark.cloud"}, tmp_path)
    assert tenant.returncode == 2, tenant.stderr
    assert tenant.stderr.strip().splitlines() == [
        "configuration error: CYBERARK_TENANT_URL: must be https:// in production"
    ]
    origins = "https://app.example.com,http://admin.example.com"
    origin = _run_app({**PRODUCTION, "BFF_ALLOWED_ORIGINS": origins}, tmp_path)
    assert origin.returncode == 2, origin.stderr
    assert origin.stderr.strip().splitlines() == [
        "configuration error: BFF_ALLOWED_ORIGINS: must be https:// in production "
        "(http://admin.example.com is not)"
    ]
    # Development keeps both (the simulator and a local SPA speak plain http).
    development = {
        **PRODUCTION,
        "BFF_ENV": "development",
        "CYBERARK_TENANT_URL": "http://127.0.0.1:9001",
        "BFF_ALLOWED_ORIGINS": origins,
    }
    assert _run_app(development, tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("BFF_LOGIN_MODE", "BFF_LOGIN_MODES"),  # one letter short: the BFF would take passwords in api mode
        ("bff_cookie_secur", "BFF_COOKIE_SECURE"),  # any case
        ("CYBERARK_TENANT_ULR", "CYBERARK_TENANT_URL"),  # two letters swapped: two edits
        ("BFF_SESSION_SECRET_FILE", "BFF_SESSION_SECRETS_FILE"),
        ("BFF_WORKER", "BFF_WORKERS"),  # read by the image's command, not a setting
    ],
)
def test_production_refuses_a_near_miss_naming_the_variable_it_meant(
    name: str, meant: str, tmp_path: Path
) -> None:
    result = _run_app({**PRODUCTION, name: "oauth"}, tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"configuration error: {name}: not a known variable; did you mean {meant}? "
        "(a misspelt name is refused in production)"
    ]


def test_production_refuses_a_near_miss_in_dotenv_and_reports_it_with_the_other_problems(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("BFF_LOGIN_MODE=oauth\n")
    result = _run_app({**PRODUCTION, "BFF_COOKIE_SECURE": "false"}, tmp_path)
    assert result.returncode == 2, result.stderr
    named = sorted(line.split(":")[1].strip() for line in result.stderr.strip().splitlines())
    assert named == ["BFF_COOKIE_SECURE", "BFF_LOGIN_MODE"], result.stderr


def test_kubernetes_service_variables_only_warn_in_production(tmp_path: Path) -> None:
    # What a Service named cyberark-bff, and one named bff, put into every pod of the namespace.
    injected = {
        "CYBERARK_BFF_SERVICE_HOST": "10.96.0.12",
        "CYBERARK_BFF_SERVICE_PORT": "80",
        "CYBERARK_BFF_SERVICE_PORT_HTTP": "80",
        "CYBERARK_BFF_PORT": "tcp://10.96.0.12:80",
        "CYBERARK_BFF_PORT_80_TCP": "tcp://10.96.0.12:80",
        "CYBERARK_BFF_PORT_80_TCP_ADDR": "10.96.0.12",
        "CYBERARK_BFF_PORT_80_TCP_PORT": "80",
        "CYBERARK_BFF_PORT_80_TCP_PROTO": "tcp",
        "BFF_SERVICE_HOST": "10.96.0.13",
        "BFF_SERVICE_PORT": "80",
        "BFF_PORT_80_TCP": "tcp://10.96.0.13:80",
    }
    result = _run_app({**PRODUCTION, **injected}, tmp_path)
    assert result.returncode == 0, result.stderr
    warned = {json.loads(line).get("variable") for line in result.stderr.splitlines()}
    assert set(injected) <= warned


def test_edit_distance_counts_insertions_deletions_and_substitutions() -> None:
    assert edit_distance("BFF_LOGIN_MODE", "BFF_LOGIN_MODES", limit=2) == 1
    assert edit_distance("CYBERARK_TENANT_ULR", "CYBERARK_TENANT_URL", limit=2) == 2
    assert edit_distance("BFF_REDIS_PORT", "BFF_REDIS_URL", limit=2) == 3  # past the limit: limit + 1
    assert edit_distance("BFF_X", "BFF_LOG_LEVEL", limit=2) == 3
    assert edit_distance("", "", limit=2) == 0
    assert near_misses(["BFF_REDIS_PORT", "BFF_SERVICE_HOST", "BFF_LOGIN_MODES", "PATH"]) == []
