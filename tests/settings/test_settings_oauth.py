"""The OAuth login's settings: defaults, one-line errors when something is missing, the production guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests.settings.test_settings import GOOD_SECRET, PRODUCTION, _run_app

CLIENT_SECRET = "client-secret-that-must-never-show-9f3a"
OAUTH = {
    "BFF_LOGIN_MODES": "api,oauth",
    "BFF_PUBLIC_URL": "https://app.example.com",
    "CYBERARK_OAUTH_APP_ID": "bff_app",
    "CYBERARK_OAUTH_CLIENT_ID": "bff-client@abc1234.example",
    "CYBERARK_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
}


def test_defaults_match_the_spec() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bff_login_modes == ["api"]
    assert s.oauth_enabled is False and s.api_login_enabled is True
    assert s.bff_public_url is None
    assert s.cyberark_oauth_scope == "openid profile"
    assert s.cyberark_oauth_client_auth == "basic"
    assert s.oauth_cookie_name == "__Host-bff-oauth"
    assert Settings(_env_file=None, bff_cookie_secure=False).oauth_cookie_name == "bff-oauth"  # type: ignore[call-arg]


def test_modes_come_out_in_the_documented_order(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in OAUTH.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BFF_LOGIN_MODES", " OAuth , api ")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.bff_login_modes == ["api", "oauth"]
    assert s.oauth_redirect_uri == "https://app.example.com/auth/oauth/callback"
    monkeypatch.setenv("BFF_PUBLIC_URL", "https://app.example.com/")
    assert Settings(_env_file=None).oauth_redirect_uri == "https://app.example.com/auth/oauth/callback"  # type: ignore[call-arg]


def test_the_client_secret_is_a_secret_str(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in OAUTH.items():
        monkeypatch.setenv(name, value)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert CLIENT_SECRET not in repr(s) and CLIENT_SECRET not in str(s.model_dump())


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"BFF_PUBLIC_URL": None}, "BFF_PUBLIC_URL"),
        ({"CYBERARK_OAUTH_APP_ID": None}, "CYBERARK_OAUTH_APP_ID"),
        ({"CYBERARK_OAUTH_CLIENT_ID": None}, "CYBERARK_OAUTH_CLIENT_ID"),
        ({"CYBERARK_OAUTH_CLIENT_SECRET": None}, "CYBERARK_OAUTH_CLIENT_SECRET"),
        ({"BFF_LOGIN_MODES": "api,saml"}, "BFF_LOGIN_MODES"),
        ({"BFF_LOGIN_MODES": ","}, "BFF_LOGIN_MODES"),
        ({"BFF_PUBLIC_URL": "app.example.com"}, "BFF_PUBLIC_URL"),
        ({"BFF_PUBLIC_URL": "https://app.example.com/bff"}, "BFF_PUBLIC_URL"),
        ({"CYBERARK_OAUTH_APP_ID": "../Token"}, "CYBERARK_OAUTH_APP_ID"),
        ({"CYBERARK_OAUTH_APP_ID": ".."}, "CYBERARK_OAUTH_APP_ID"),
        ({"CYBERARK_OAUTH_CLIENT_AUTH": "jwt"}, "CYBERARK_OAUTH_CLIENT_AUTH"),
        ({"CYBERARK_OAUTH_SCOPE": "   "}, "CYBERARK_OAUTH_SCOPE"),
        # The production guard: the redirect_uri carries the code, so it must be https.
        ({"BFF_PUBLIC_URL": "http://app.example.com"}, "BFF_PUBLIC_URL"),
    ],
)
def test_misconfiguration_is_one_line_naming_the_variable_and_exit_2(
    change: dict[str, str | None], variable: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in {**PRODUCTION, **OAUTH, **change}.items() if v is not None}
    result = _run_app(env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert GOOD_SECRET not in result.stderr and CLIENT_SECRET not in result.stderr


def test_oauth_settings_are_not_needed_without_the_oauth_mode(tmp_path: Path) -> None:
    assert _run_app(PRODUCTION, tmp_path).returncode == 0


def test_a_safe_production_configuration_with_oauth_starts(tmp_path: Path) -> None:
    result = _run_app({**PRODUCTION, **OAUTH}, tmp_path)
    assert result.returncode == 0, result.stderr


def test_development_allows_a_plain_http_public_url() -> None:
    values = {k.lower(): v for k, v in OAUTH.items()}
    s = Settings(_env_file=None, **{**values, "bff_public_url": "http://127.0.0.1:8000"})  # type: ignore[call-arg]
    assert s.oauth_redirect_uri == "http://127.0.0.1:8000/auth/oauth/callback"
