"""Configuration: every variable parses; production refuses unsafe settings in one line, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "s" * 40
PRODUCTION = {
    "BFF_ENV": "production",
    "CYBERARK_TENANT_URL": "https://abc1234.id.cyberark.cloud",
    "BFF_REDIS_URL": "redis://127.0.0.1:1/0",
    "BFF_SESSION_SECRETS": GOOD_SECRET,
}


def _run_app(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Import ``app.main:app`` as uvicorn would, in a clean environment and an empty folder (no .env)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "CYBERARK_"))}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", "import app.main as m; m.app"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_match_the_spec() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bff_env == "development"
    assert s.cyberark_timeout == 10
    assert s.bff_redis_key_prefix == "bff:"
    assert s.bff_session_idle_timeout == 1800
    assert s.bff_session_max_lifetime == 43200
    assert s.bff_login_timeout == 300
    assert s.bff_poll_min_interval == 2
    assert s.bff_cookie_secure is True
    assert s.cookie_name == "__Host-bff"
    assert s.bff_proxy_allow == "POST /UPRest/GetUPData"
    assert (s.ip_rate_limit.attempts, s.ip_rate_limit.seconds) == (10, 60)
    assert (s.username_rate_limit.attempts, s.username_rate_limit.seconds) == (5, 60)


def test_comma_lists_and_networks_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BFF_ALLOWED_ORIGINS", "https://App.example.com/, https://b.example.com")
    monkeypatch.setenv("BFF_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    monkeypatch.setenv("BFF_SESSION_SECRETS", "new-secret,old-secret")
    monkeypatch.setenv("BFF_COOKIE_SECURE", "false")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bff_allowed_origins == ["https://app.example.com", "https://b.example.com"]
    assert [str(n) for n in s.bff_trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    assert s.signing_secrets() == [b"new-secret", b"old-secret"]
    assert s.cookie_name == "bff"


def test_development_without_secrets_uses_one_random_secret_per_process() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    first = s.signing_secrets()
    assert first == s.signing_secrets()
    assert len(first[0]) >= 32
    assert Settings(_env_file=None).signing_secrets() != first  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"CYBERARK_TENANT_URL": ""}, "CYBERARK_TENANT_URL"),
        ({"BFF_REDIS_URL": None}, "BFF_REDIS_URL"),
        ({"BFF_SESSION_SECRETS": None}, "BFF_SESSION_SECRETS"),
        ({"BFF_SESSION_SECRETS": "short"}, "BFF_SESSION_SECRETS"),
        ({"BFF_COOKIE_SECURE": "false"}, "BFF_COOKIE_SECURE"),
        ({"CYBERARK_TIMEOUT": "-1"}, "CYBERARK_TIMEOUT"),
        ({"BFF_PROXY_ALLOW": "FETCH /x"}, "BFF_PROXY_ALLOW"),
        ({"BFF_LOGIN_RATE_LIMIT": "ten/60"}, "BFF_LOGIN_RATE_LIMIT"),
        ({"BFF_TRUSTED_PROXIES": "not-a-cidr"}, "BFF_TRUSTED_PROXIES"),
        ({"BFF_ALLOWED_ORIGINS": "app.example.com"}, "BFF_ALLOWED_ORIGINS"),
    ],
)
def test_misconfiguration_is_one_line_naming_the_variable_and_exit_2(
    change: dict[str, str | None], variable: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in {**PRODUCTION, **change}.items() if v is not None}
    result = _run_app(env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert GOOD_SECRET not in result.stderr


def test_a_safe_production_configuration_starts(tmp_path: Path) -> None:
    result = _run_app(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr


def test_an_empty_variable_means_unset_never_the_working_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BFF_STATIC_DIR", "")
    monkeypatch.setenv("CYBERARK_CA_BUNDLE", "")
    monkeypatch.setenv("BFF_SESSION_IDLE_TIMEOUT", "")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bff_static_dir is None
    assert s.cyberark_ca_bundle is None
    assert s.bff_session_idle_timeout == 1800
