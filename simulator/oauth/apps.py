"""OAuth2 Client apps of the simulated tenant: the ``oauth_apps`` section of the users file, checked once.

Example::

    app = parse_oauth_app({"app_id": "bff-demo", "client_id": "c", "client_secret": "s",
                           "redirect_uris": ["http://127.0.0.1:8000/auth/oauth/callback"],
                           "scopes": {"profile": ["UPRest/GetUPData"]}})
    app.allows("UPRest/GetUPData", ["profile"])  # True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from simulator.users import DEFAULT_USERS_FILE, UserFileError

#: Scopes every app accepts without defining them: they shape the id_token and userinfo, not REST access.
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
_APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FIELDS = {
    "app_id",
    "client_id",
    "client_secret",
    "redirect_uris",
    "post_logout_redirect_uris",
    "scopes",
    "access_token_lifetime",
    "refresh_token_lifetime",
    "code_lifetime",
    "issue_refresh_tokens",
    "rotate_refresh_tokens",
    "client_credentials",
    "issuer",
    "jwks_cache_control",
}


@dataclass
class OAuthApp:
    """One OAuth2 Client web app with Client ID Type *Confidential* (the raw entry is kept for updates)."""

    app_id: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    #: Scope name -> allowed REST API regexes (matched in full against the path without its leading /).
    scopes: dict[str, list[str]]
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 604800
    code_lifetime: int = 60
    issue_refresh_tokens: bool = True
    rotate_refresh_tokens: bool = True
    client_credentials: bool = False
    #: None: ``{scheme}://{Host}/{app_id}/`` of the request that asked for the token.
    issuer: str | None = None
    #: The ``Cache-Control`` the JWKS is served with (none when None), e.g. ``"public, max-age=300"``.
    jwks_cache_control: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def known_scope(self, name: str) -> bool:
        return name in self.scopes or name in OIDC_SCOPES

    def patterns(self, granted: list[str]) -> tuple[re.Pattern[str], ...]:
        """The compiled REST API regexes of the granted scopes (an empty tuple: no REST call at all)."""
        return tuple(
            re.compile(regex, re.IGNORECASE) for name in granted for regex in self.scopes.get(name, [])
        )

    def allows(self, path: str, granted: list[str]) -> bool:
        rest = path.lstrip("/")
        return any(p.fullmatch(rest) for p in self.patterns(granted))

    def post_logout_ok(self, uri: str) -> bool:
        """Listed exactly, or (when the app lists none) on the origin of a registered redirect URI."""
        if self.post_logout_redirect_uris:
            return uri in self.post_logout_redirect_uris
        return _origin(uri) is not None and _origin(uri) in {_origin(u) for u in self.redirect_uris}


def _origin(uri: str) -> tuple[str, str] | None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.scheme, parts.netloc.lower()


def _fail(who: str, what: str) -> UserFileError:
    return UserFileError(f"oauth app {who!r}: {what}")


def _string(raw: dict[str, Any], name: str, who: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise _fail(who, f"{name} must be a non-empty string")
    return value


def _uris(raw: dict[str, Any], name: str, who: str, required: bool) -> list[str]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(u, str) and _origin(u) for u in value):
        raise _fail(who, f"{name} must be a list of absolute http(s) URIs")
    if required and not value:
        raise _fail(who, f"{name} must list at least one URI")
    return list(value)


def _seconds(raw: dict[str, Any], name: str, who: str, default: int) -> int:
    value = raw.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _fail(who, f"{name} must be a positive number of seconds")
    return value


def _flag(raw: dict[str, Any], name: str, who: str, default: bool) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise _fail(who, f"{name} must be true or false")
    return value


def _scopes(raw: dict[str, Any], who: str) -> dict[str, list[str]]:
    value = raw.get("scopes", {})
    if not isinstance(value, dict):
        raise _fail(who, "scopes must map scope names to lists of REST API regexes")
    scopes: dict[str, list[str]] = {}
    for name, regexes in value.items():
        if not name or " " in name:
            raise _fail(who, f"scope name {name!r} must be one word")
        if not isinstance(regexes, list) or not all(isinstance(r, str) for r in regexes):
            raise _fail(who, f"scope {name!r} must list REST API regexes")
        for regex in regexes:
            try:
                re.compile(regex)
            except re.error as exc:
                raise _fail(who, f"scope {name!r}: bad regex {regex!r} ({exc})") from exc
        scopes[name] = list(regexes)
    return scopes


def parse_oauth_app(raw: object) -> OAuthApp:
    """Check one ``oauth_apps`` entry and build its :class:`OAuthApp`; the error names the app and field."""
    if not isinstance(raw, dict):
        raise UserFileError("each oauth app must be a JSON object")
    who = raw.get("app_id")
    if not isinstance(who, str) or not _APP_ID.match(who):
        raise UserFileError("every oauth app needs an app_id (letters, digits, _ . -)")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise _fail(who, f"unknown fields: {', '.join(sorted(unknown))}")
    issuer = raw.get("issuer")
    if issuer is not None and (not isinstance(issuer, str) or _origin(issuer) is None):
        raise _fail(who, "issuer must be an absolute http(s) URI")
    cache_control = raw.get("jwks_cache_control")
    if cache_control is not None and (
        not isinstance(cache_control, str) or not cache_control.isascii() or not cache_control.isprintable()
    ):
        raise _fail(who, "jwks_cache_control must be a header value (printable ASCII)")
    return OAuthApp(
        app_id=who,
        client_id=_string(raw, "client_id", who),
        client_secret=_string(raw, "client_secret", who),
        redirect_uris=_uris(raw, "redirect_uris", who, required=True),
        post_logout_redirect_uris=_uris(raw, "post_logout_redirect_uris", who, required=False),
        scopes=_scopes(raw, who),
        access_token_lifetime=_seconds(raw, "access_token_lifetime", who, 3600),
        refresh_token_lifetime=_seconds(raw, "refresh_token_lifetime", who, 604800),
        code_lifetime=_seconds(raw, "code_lifetime", who, 60),
        issue_refresh_tokens=_flag(raw, "issue_refresh_tokens", who, True),
        rotate_refresh_tokens=_flag(raw, "rotate_refresh_tokens", who, True),
        client_credentials=_flag(raw, "client_credentials", who, False),
        issuer=issuer,
        jwks_cache_control=cache_control,
        raw=dict(raw),
    )


def load_oauth_apps(
    apps: list[dict[str, Any]] | None, users: list[dict[str, Any]] | str | Path | None
) -> list[OAuthApp]:
    """``apps`` when given, else the users file's ``oauth_apps`` (none when users are given as a list)."""
    if apps is None:
        if users is None:
            users = DEFAULT_USERS_FILE
        if not isinstance(users, str | Path):
            return []
        try:
            data: Any = json.loads(Path(users).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserFileError(f"{users}: cannot read a JSON users file ({exc.__class__.__name__})") from exc
        apps = data.get("oauth_apps", []) if isinstance(data, dict) else []
        if not isinstance(apps, list):
            raise UserFileError(f"{users}: oauth_apps must be a list")
    parsed = [parse_oauth_app(raw) for raw in apps]
    seen: set[str] = set()
    for app in parsed:
        if app.app_id in seen:
            raise _fail(app.app_id, "listed twice")
        seen.add(app.app_id)
    return parsed
