"""The oauth_apps section of the users file, checked once with errors that name the app and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulator.app import create_app
from simulator.oauth.apps import load_oauth_apps, parse_oauth_app
from simulator.users import UserFileError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL: dict[str, Any] = {
    "app_id": "a1",
    "client_id": "c",
    "client_secret": "s",
    "redirect_uris": ["https://bff.example/auth/oauth/callback"],
}


def test_defaults() -> None:
    app = parse_oauth_app(MINIMAL)
    assert (app.access_token_lifetime, app.refresh_token_lifetime, app.code_lifetime) == (3600, 604800, 60)
    assert app.issue_refresh_tokens and app.rotate_refresh_tokens and not app.client_credentials
    assert app.scopes == {} and app.issuer is None and app.known_scope("openid")
    assert not app.known_scope("custom")


def test_scope_regexes_match_whole_paths_without_case() -> None:
    app = parse_oauth_app({**MINIMAL, "scopes": {"r": ["Redrock/query.*"], "up": ["UPRest/GetUPData"]}})
    assert app.allows("/Redrock/query", ["r"]) and app.allows("/redrock/QUERY/x", ["r"])
    assert not app.allows("/UPRest/GetUPData", ["r"]) and app.allows("/UPRest/GetUPData", ["r", "up"])
    assert not app.allows("/UPRest/GetUPDataX", ["up"]) and not app.allows("/x/UPRest/GetUPData", ["up"])


def test_post_logout_uris_default_to_the_redirect_origins() -> None:
    app = parse_oauth_app(MINIMAL)
    assert app.post_logout_ok("https://bff.example/") and app.post_logout_ok("https://bff.example/bye")
    assert not app.post_logout_ok("https://evil.example/") and not app.post_logout_ok("http://bff.example/")
    listed = parse_oauth_app({**MINIMAL, "post_logout_redirect_uris": ["https://bff.example/out"]})
    assert listed.post_logout_ok("https://bff.example/out") and not listed.post_logout_ok(
        "https://bff.example/"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"app_id": "has space"}, "every oauth app needs an app_id"),
        ({"client_secret": ""}, "oauth app 'a1': client_secret must be a non-empty string"),
        ({"redirect_uris": []}, "oauth app 'a1': redirect_uris must list at least one URI"),
        (
            {"redirect_uris": ["/relative"]},
            "oauth app 'a1': redirect_uris must be a list of absolute http(s) URIs",
        ),
        ({"scopes": {"x": "UPRest/.*"}}, "oauth app 'a1': scope 'x' must list REST API regexes"),
        ({"scopes": {"x": ["("]}}, "oauth app 'a1': scope 'x': bad regex '('"),
        ({"access_token_lifetime": 0}, "oauth app 'a1': access_token_lifetime must be a positive number"),
        ({"rotate_refresh_tokens": "yes"}, "oauth app 'a1': rotate_refresh_tokens must be true or false"),
        ({"redirect_uri": "typo"}, "oauth app 'a1': unknown fields: redirect_uri"),
    ],
)
def test_errors_name_the_app_and_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(UserFileError) as caught:
        parse_oauth_app({**MINIMAL, **change})
    assert str(caught.value).startswith(message)


def test_loading(tmp_path: Path) -> None:
    as_object = tmp_path / "users.json"
    as_object.write_text(json.dumps({"users": [], "oauth_apps": [MINIMAL]}))
    assert [a.app_id for a in load_oauth_apps(None, as_object)] == ["a1"]
    as_list = tmp_path / "list.json"
    as_list.write_text("[]")
    assert load_oauth_apps(None, as_list) == [] and load_oauth_apps(None, []) == []
    assert [a.app_id for a in load_oauth_apps(None, None)] == ["bff-demo"]
    assert [a.app_id for a in load_oauth_apps([MINIMAL], None)] == ["a1"]
    with pytest.raises(UserFileError, match="listed twice"):
        load_oauth_apps([MINIMAL, MINIMAL], None)


def test_create_app_takes_apps_beside_a_user_list() -> None:
    app = create_app([], oauth_apps=[MINIMAL])
    assert list(app.state.oauth.apps) == ["a1"]
    assert list(create_app([]).state.oauth.apps) == []


def test_cli_reports_a_bad_app_in_one_line(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"users": [], "oauth_apps": [{**MINIMAL, "client_id": 7}]}))
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "--users", str(users)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == "simulator: oauth app 'a1': client_id must be a non-empty string"
