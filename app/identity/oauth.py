"""The tenant's OAuth2 Client app (cyberark-identity.md §4.1): tokens, refresh, revoke, userinfo, id_token.

Example::

    oauth = OAuthClient.from_settings(settings, tenant)
    tokens = await oauth.exchange_code(code, verifier)
    claims = await oauth.id_token_claims(tokens.id_token, nonce=nonce)
    user = oauth.user(claims)

Every call goes through the :class:`~app.identity.client.TenantClient`'s httpx client, so it has the same
explicit timeout, no cookie jar, the request id, the call metrics and the same error mapping (5xx and
transport errors 502, slow 504). Only this module knows the OAuth field names.

The ``id_token`` is checked with **joserfc** (signature against the app's JWKS, then ``iss``, ``aud``,
``exp``, ``nonce``): it is maintained by the author of Authlib, small (JOSE only, no web framework glue),
typed (``py.typed``, so mypy strict sees it), and built on ``cryptography``, which the BFF already carries.
No JWT parsing or signature code is written here.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote_plus, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption

from app.errors import TenantError, TenantProtocolError, TenantUnavailable, TokenRejected
from app.identity.client import JSON_HEADERS, TenantClient
from app.identity.hosts import tenant_host
from app.identity.models import User
from app.identity.results import opt_seconds

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger("bff.identity.oauth")

#: Seconds of clock difference allowed between the tenant and the BFF when checking ``exp``.
CLOCK_LEEWAY = 30
#: The only signature algorithm accepted: the tenant signs id_tokens with RS256 (its JWKS holds RSA keys).
ALGORITHMS = ["RS256"]
#: Seconds a fetched JWKS is used at most, whatever its ``Cache-Control`` allows: a key the tenant withdrew
#: stops validating within this.
JWKS_MAX_AGE = 3600.0
#: Seconds at least between two fetches that an unknown ``kid`` causes (anyone can make up a kid).
JWKS_UNKNOWN_KID_INTERVAL = 60.0
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What the token endpoint answered (the tokens never appear in a repr)."""

    access_token: str = field(repr=False)
    #: Seconds the access token is good for; ``None`` when the tenant did not say.
    expires_in: float | None
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)


class OAuthClient:
    """One OAuth2 Client app of the tenant, as a confidential client.

    Example::

        oauth = OAuthClient(tenant, app_id="bff", client_id="svc@example", client_secret="...")
        oauth.authorize_url({"state": "...", ...})
    """

    def __init__(
        self,
        tenant: TenantClient,
        *,
        app_id: str,
        client_id: str,
        client_secret: str,
        client_auth: Literal["basic", "post"] = "basic",
        tenant_name: str | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tenant = tenant
        self.app_id = app_id
        self.client_id = client_id
        self._secret = client_secret
        self.client_auth = client_auth
        base = tenant.base_url
        self.issuer = f"{base}/{app_id}/"
        self.authorize_endpoint = f"{base}/OAuth2/Authorize/{app_id}"
        self.token_endpoint = f"{base}/OAuth2/Token/{app_id}"
        self.userinfo_endpoint = f"{base}/OAuth2/UserInfo/{app_id}"
        self.keys_endpoint = f"{base}/OAuth2/Keys/{app_id}"
        self.revoke_endpoint = f"{base}/OAuth2/Revoke/{app_id}"
        self.end_session_endpoint = f"{base}/OAuth2/EndSession/{app_id}"
        #: The user object's ``tenant``: the tenant URL's host (and port), as for every login kind.
        self.tenant_name = tenant_name or tenant_host(base)
        self.clock = clock
        #: Times the JWKS cache (not the tokens' own claims, which are wall-clock times).
        self.monotonic = monotonic
        self._keys: KeySet | None = None
        #: When the cached JWKS must be fetched again (monotonic seconds).
        self._keys_until = 0.0
        #: When an unknown kid last made a fetch (monotonic seconds), None before the first.
        self._unknown_kid_fetch: float | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, tenant: TenantClient, *, clock: Callable[[], float] = time.time
    ) -> OAuthClient:
        secret = settings.cyberark_oauth_client_secret
        if (
            settings.cyberark_oauth_app_id is None
            or settings.cyberark_oauth_client_id is None
            or secret is None
        ):
            raise ValueError("the OAuth settings are incomplete")  # Settings refuses this at start-up already
        return cls(
            tenant,
            app_id=settings.cyberark_oauth_app_id,
            client_id=settings.cyberark_oauth_client_id,
            client_secret=secret.get_secret_value(),
            client_auth=settings.cyberark_oauth_client_auth,
            clock=clock,
        )

    def __repr__(self) -> str:
        # The secret never appears in a repr, a log line or a traceback's locals.
        return f"OAuthClient(app_id={self.app_id!r}, client_id={self.client_id!r}, auth={self.client_auth!r})"

    # URLs the browser is sent to --------------------------------------------------------------------

    def authorize_url(self, params: Mapping[str, str]) -> str:
        """``/OAuth2/Authorize/{app}`` with ``client_id`` and ``params`` (state, PKCE challenge, ...)."""
        return f"{self.authorize_endpoint}?{urlencode({'client_id': self.client_id, **params})}"

    def end_session_url(self, post_logout_redirect_uri: str) -> str:
        """The tenant's sign-out page; a browser navigation, never a server call."""
        query = urlencode({"post_logout_redirect_uri": post_logout_redirect_uri})
        return f"{self.end_session_endpoint}?{query}"

    # Token endpoint ---------------------------------------------------------------------------------

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        """``grant_type=authorization_code``; TokenRejected when the tenant refuses the code."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return _token_set(await self._token_call(form))

    async def refresh(self, refresh_token: str) -> TokenSet:
        """``grant_type=refresh_token``; TokenRejected on ``invalid_grant`` (the session is over)."""
        data = await self._token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})
        tokens = _token_set(data)
        # A tenant that does not rotate answers no refresh_token: the old one stays good.
        if tokens.refresh_token is None:
            return TokenSet(tokens.access_token, tokens.expires_in, refresh_token, tokens.id_token)
        return tokens

    async def revoke(self, token: str, hint: Literal["refresh_token", "access_token"]) -> None:
        """``/OAuth2/Revoke/{app}`` (RFC 7009); the tenant answers 200 even for an unknown token."""
        form = self._authenticated({"token": token, "token_type_hint": hint})
        response = await self.tenant.send(self._form_request(self.revoke_endpoint, form))
        if response.status_code != 200:
            raise TenantProtocolError(f"revoke answered HTTP {response.status_code}")

    async def revoke_each(
        self, refresh_token: str | None, access_token: str | None
    ) -> list[tuple[Literal["refresh_token", "access_token"], TenantError]]:
        """Revoke the refresh token, then the access token (those given), each on its own: the failures.

        A failed refresh-token revocation must not keep the access token alive too; a token whose revocation
        failed lapses at its own expiry.
        """
        failures: list[tuple[Literal["refresh_token", "access_token"], TenantError]] = []
        tokens: list[tuple[str | None, Literal["refresh_token", "access_token"]]] = [
            (refresh_token, "refresh_token"),
            (access_token, "access_token"),
        ]
        for token, hint in tokens:
            if token is None:
                continue
            try:
                await self.revoke(token, hint)
            except TenantError as exc:
                failures.append((hint, exc))
        return failures

    async def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        response = await self.tenant.send(self._form_request(self.token_endpoint, self._authenticated(form)))
        if response.status_code >= 500:
            raise TenantUnavailable(f"token endpoint answered HTTP {response.status_code}")
        data = _json_object(response)
        if response.status_code == 200:
            return data
        error = data.get("error") if isinstance(data.get("error"), str) else None
        # Only the error code is kept (for the logs); error_description is the tenant's text and goes nowhere.
        if response.status_code == 400 and error == "invalid_grant":
            raise TokenRejected("token endpoint: invalid_grant")
        raise TenantProtocolError(
            f"token endpoint answered HTTP {response.status_code} {error or ''}".rstrip()
        )

    def _authenticated(self, form: dict[str, str]) -> dict[str, str]:
        if self.client_auth == "post":
            return {**form, "client_id": self.client_id, "client_secret": self._secret}
        return form

    def _form_request(self, url: str, form: Mapping[str, str]) -> httpx.Request:
        headers = dict(_FORM)
        if self.client_auth == "basic":
            # RFC 6749 §2.3.1: id and secret are form-urlencoded before base64 (a client id is a login name
            # such as svc@tenant). For a tenant that would not decode them: CYBERARK_OAUTH_CLIENT_AUTH=post.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self._secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return self.tenant.build_request("POST", url, content=urlencode(form).encode(), headers=headers)

    # User ------------------------------------------------------------------------------------------

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        """``/OAuth2/UserInfo/{app}`` with the access token; TokenRejected on 401/403."""
        headers = {**JSON_HEADERS, "Authorization": f"Bearer {access_token}"}
        headers.pop("Content-Type")
        response = await self.tenant.send(
            self.tenant.build_request("GET", self.userinfo_endpoint, headers=headers)
        )
        if response.status_code in (401, 403):
            raise TokenRejected(f"userinfo answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise TenantProtocolError(f"userinfo answered HTTP {response.status_code}")
        return _json_object(response)

    @staticmethod
    def names_user(claims: Mapping[str, Any]) -> bool:
        """Whether ``claims`` carry a user name (else UserInfo is asked)."""
        return any(_text(claims.get(name)) for name in ("preferred_username", "unique_name", "email"))

    def user(self, claims: Mapping[str, Any]) -> User:
        """The signed-in user from id_token claims or a UserInfo answer (api.md §2)."""
        sub = _text(claims.get("sub"))
        username = (
            _text(claims.get("preferred_username"))
            or _text(claims.get("unique_name"))
            or _text(claims.get("email"))
        )
        if not sub or not username:
            raise TenantProtocolError("the tenant named no sub or user name")
        return User(
            id=sub,
            username=username,
            display_name=_text(claims.get("name")),
            email=_text(claims.get("email")),
            tenant=self.tenant_name,
        )

    # id_token ---------------------------------------------------------------------------------------

    async def id_token_claims(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        """The claims of ``id_token`` once signature, ``iss``, ``aud``, ``exp`` and ``nonce`` are checked.

        The signing key is looked up by ``kid`` in the app's JWKS, kept as long as the answer's
        ``Cache-Control`` allows and never longer than ``JWKS_MAX_AGE``; a ``kid`` the cached set does not
        know makes one fresh fetch (the tenant rotated its keys), at most one every
        ``JWKS_UNKNOWN_KID_INTERVAL``, and only then is the token refused.
        Raises TenantProtocolError for any token that does not pass.
        """
        keys = await self._key_set(refresh=False)
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                if not self._may_fetch_for_unknown_kid():
                    raise
                keys = await self._key_set(refresh=True)
                token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            options: dict[str, ClaimsOption] = {
                "iss": {"essential": True, "value": self.issuer},
                "aud": {"essential": True, "value": self.client_id},
                "exp": {"essential": True},
                "sub": {"essential": True},
            }
            if nonce is not None:
                options["nonce"] = {"essential": True, "value": nonce}
            checks = jwt.JWTClaimsRegistry(now=lambda: int(self.clock()), leeway=CLOCK_LEEWAY, **options)
            checks.validate(token.claims)
        except JoseError as exc:
            # The class names what failed (BadSignatureError, InvalidClaimError: iss, ...); never the token.
            raise TenantProtocolError(f"id_token refused: {type(exc).__name__} {exc.error}") from exc
        except ValueError as exc:
            raise TenantProtocolError(f"id_token refused: {type(exc).__name__}") from exc
        return dict(token.claims)

    def _may_fetch_for_unknown_kid(self) -> bool:
        now = self.monotonic()
        if self._unknown_kid_fetch is not None and now - self._unknown_kid_fetch < JWKS_UNKNOWN_KID_INTERVAL:
            return False
        self._unknown_kid_fetch = now  # before the fetch: concurrent logins with made-up kids wait their turn
        return True

    async def _key_set(self, *, refresh: bool) -> KeySet:
        if self._keys is not None and not refresh and self.monotonic() < self._keys_until:
            return self._keys
        response = await self.tenant.send(
            self.tenant.build_request("GET", self.keys_endpoint, headers={"Accept": "application/json"})
        )
        if response.status_code != 200:
            raise TenantProtocolError(f"JWKS answered HTTP {response.status_code}")
        data = _json_object(response)
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]  # checked by import_key_set itself
        except (JoseError, KeyError, TypeError, ValueError) as exc:
            raise TenantProtocolError("the JWKS holds no usable key") from exc
        self._keys = keys
        self._keys_until = self.monotonic() + _max_age(response.headers.get("cache-control"))
        log.info("jwks fetched", extra={"keys": len(keys.keys), "refresh": refresh})
        return keys


def _max_age(cache_control: str | None) -> float:
    """Seconds a JWKS answer may be kept by its ``Cache-Control`` (RFC 9111 §5.2.2), at most JWKS_MAX_AGE:
    ``no-store`` or ``no-cache`` keep it for none (it is fetched again for the next token)."""
    if cache_control is None:
        return JWKS_MAX_AGE
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            value = value.strip().strip('"')
            if value.isascii() and value.isdigit():
                return min(float(value), JWKS_MAX_AGE)
    return JWKS_MAX_AGE


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise TenantProtocolError(f"the tenant answered HTTP {response.status_code} without JSON") from exc
    if not isinstance(data, dict):
        raise TenantProtocolError("the tenant's JSON is not an object")
    return data


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _token_set(data: Mapping[str, Any]) -> TokenSet:
    access = _text(data.get("access_token"))
    if access is None:
        raise TenantProtocolError("token answer without access_token")
    token_type = data.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TenantProtocolError("token answer is not a Bearer token")
    expires_in = data.get("expires_in")
    # Some servers send it as a string; only ASCII digits count ("²".isdigit() is true, int() refuses it).
    if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit():
        expires_in = int(expires_in)
    return TokenSet(
        access_token=access,
        # Finite and non-negative, else a protocol error (NaN or a 400-digit number would not be one).
        expires_in=None if expires_in is None else opt_seconds({"expires_in": expires_in}, "expires_in"),
        refresh_token=_text(data.get("refresh_token")),
        id_token=_text(data.get("id_token")),
    )
