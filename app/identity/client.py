"""The CyberArk Identity tenant client: one long-lived httpx client, no cookies shared between users."""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from app.errors import (
    LoginFailed,
    TenantError,
    TenantProtocolError,
    TenantRateLimited,
    TenantTimeout,
    TenantUnavailable,
    TokenRejected,
)
from app.identity.cookies import TOKEN_COOKIE, cookie_header, empty_jar, merge_cookies, read_set_cookies
from app.identity.envelope import Envelope, parse_envelope
from app.identity.models import (
    FederatedRedirect,
    LoggedIn,
    LoginContext,
    NewPackage,
    Outcome,
    Pending,
    Started,
    StartResult,
)
from app.identity.results import (
    FederatedReply,
    IdpSuccess,
    NoncommittalReply,
    PackageReply,
    PodRedirect,
    SuccessReply,
    parse_advance,
    parse_oob_status,
    parse_pin_answer,
    parse_start,
    parse_whoami_user,
)
from app.identity.upstream import NATIVE_CLIENT, tls_context
from app.observe.request_context import current_request_id

if TYPE_CHECKING:
    from app.observe.trace_hook import TraceHook
    from app.settings import Settings

log = logging.getLogger("bff.identity")

START_PATH = "/Security/StartAuthentication"
ADVANCE_PATH = "/Security/AdvanceAuthentication"
CLEANUP_PATH = "/Security/CleanupAuthentication"
LOGOUT_PATH = "/Security/Logout"
WHOAMI_PATH = "/Security/Whoami"
OOB_STATUS_PATH = "/Security/OobAuthStatus"
#: The MechanismId that answers a federated login's PIN (spec §1.1).
PIN_MECHANISM = "OOBAUTHPIN"
#: Sent with every StartAuthentication, as the vendor's SDKs do: federated users then finish out of band.
OOB_IDP_HEADERS = {"OobIdPAuth": "true"}

#: PodFqdn redirects followed by :meth:`TenantClient.start` before it gives up.
MAX_POD_HOPS = 2
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
DEFAULT_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30.0)

#: What one AdvanceAuthentication call gives back: the tenant's outcome and the context to carry on with.
TenantStep = tuple[Outcome, LoginContext]


class TenantClient:
    """Talks to one tenant for every user; per-login state lives in :class:`LoginContext`, never in here.

    Example::

        client = TenantClient("https://abc1234.id.cyberark.cloud", timeout=10)
        started = await client.start("jane@example.com")
        password = started.package.challenges[0].mechanisms[0]
        outcome, ctx = await client.answer(started.context, password.id, "secret")
        await client.aclose()
    """

    def __init__(
        self,
        base_url: str,
        *,
        tenant_id: str | None = None,
        timeout: float = 10.0,
        verify: bool | str | ssl.SSLContext = True,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        observe: Callable[[str, float], None] | None = None,
        trace: TraceHook | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        #: Called with (call name, seconds to the tenant's answer) after every call, e.g. for metrics.
        self.observe = observe
        #: Wraps every call in a span when tracing is on (:mod:`app.observe.trace_hook`).
        self.trace = trace
        if isinstance(verify, str):
            # httpx 0.28 deprecates verify=<path>; build the context it would have built.
            verify = ssl.create_default_context(cafile=verify)
        self._http = httpx.AsyncClient(
            headers=NATIVE_CLIENT,
            cookies=empty_jar(),
            timeout=httpx.Timeout(timeout),
            limits=limits,
            verify=verify,
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        observe: Callable[[str, float], None] | None = None,
        trace: TraceHook | None = None,
    ) -> TenantClient:
        """A client for ``CYBERARK_TENANT_URL`` with the configured tenant id, timeout and CA bundle."""
        return cls(
            settings.tenant_url,
            tenant_id=settings.cyberark_tenant_id,
            timeout=settings.cyberark_timeout,
            verify=tls_context(settings) or True,
            observe=observe,
            trace=trace,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def build_request(self, method: str, url: str, **kwargs: Any) -> httpx.Request:
        """A request on the shared client (its timeout, no cookies), for :meth:`send`."""
        return self._http.build_request(method, url, **kwargs)

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send a request from :meth:`build_request`, read whole; transport errors become ours (502/504)."""
        return await self._send(request)

    # Login ---------------------------------------------------------------------------------------------

    async def start(self, username: str) -> StartResult:
        """StartAuthentication for ``username``, following ``PodFqdn`` (at most :data:`MAX_POD_HOPS`).

        Raises LoginFailed (``success: false``), TenantRateLimited (``RetryWaitingTime``), and
        TenantProtocolError for a ``LoginSuccess`` here: this client never sends a token cookie with
        StartAuthentication, so a tenant that claims a finished login is not speaking the protocol we know.
        """
        body: dict[str, Any] = {"User": username, "Version": "1.0"}
        if self.tenant_id:
            body["TenantId"] = self.tenant_id
        base = self.base_url
        for _hop in range(MAX_POD_HOPS + 1):
            envelope, set_cookies = await self._login_call(base + START_PATH, body, {}, OOB_IDP_HEADERS)
            if not envelope.success:
                raise LoginFailed("StartAuthentication failed")
            reply = parse_start(envelope.result)
            if isinstance(reply, PodRedirect):
                if _same_host(reply.pod, base):
                    raise TenantProtocolError("tenant redirects to the pod already in use")
                # Hosts are bare names: the configured URL's scheme decides http or https.
                base = f"{urlsplit(self.base_url).scheme}://{reply.pod}"
                continue
            if isinstance(reply, FederatedReply):
                context = LoginContext(
                    base_url=base,
                    session_id=reply.session_id,
                    tenant_id=self.tenant_id,
                    cookies=merge_cookies({}, set_cookies),
                )
                return FederatedRedirect(url=reply.url, pin=reply.pin_required, context=context)
            if isinstance(reply, SuccessReply):
                raise TenantProtocolError("tenant reports a login before any challenge")
            _raise_if_waiting(reply)
            if reply.session_id is None:  # parse_start refuses this already; repeated for the type checker
                raise TenantProtocolError("tenant package has no SessionId")
            context = LoginContext(
                base_url=base,
                session_id=reply.session_id,
                tenant_id=reply.tenant_id or self.tenant_id,
                cookies=merge_cookies({}, set_cookies),
            )
            return Started(context=context, package=reply.package)
        raise TenantProtocolError(f"tenant redirects through more than {MAX_POD_HOPS} pods")

    async def answer(
        self, ctx: LoginContext, mechanism_id: str, answer: str | Mapping[str, str]
    ) -> TenantStep:
        """``Action: Answer``: a password, a code, or ``{question_id: text}`` for a multi-part question."""
        value: str | dict[str, str] = answer if isinstance(answer, str) else dict(answer)
        return await self._advance(ctx, mechanism_id, "Answer", value)

    async def start_oob(self, ctx: LoginContext, mechanism_id: str) -> TenantStep:
        """``Action: StartOOB``: send the mail, text, push or call; usually :class:`Pending`."""
        return await self._advance(ctx, mechanism_id, "StartOOB", None)

    async def poll(self, ctx: LoginContext, mechanism_id: str) -> TenantStep:
        """``Action: Poll`` on an out-of-band mechanism."""
        return await self._advance(ctx, mechanism_id, "Poll", None)

    async def cleanup(self, ctx: LoginContext) -> bool:
        """CleanupAuthentication; best effort: True when the tenant confirmed, False on any tenant error.

        It never raises a :class:`TenantError`: it runs when a login is abandoned, and nobody could act on
        a failure (the tenant forgets the SessionId on its own).
        """
        body: dict[str, Any] = {"SessionId": ctx.session_id}
        if ctx.tenant_id:
            body["TenantId"] = ctx.tenant_id
        try:
            envelope, _ = await self._login_call(ctx.base_url + CLEANUP_PATH, body, ctx.cookies)
        except TenantError as exc:
            log.info("CleanupAuthentication failed: %s", type(exc).__name__)
            return False
        return envelope.success

    async def _advance(
        self, ctx: LoginContext, mechanism_id: str, action: str, answer: str | dict[str, str] | None
    ) -> TenantStep:
        body: dict[str, Any] = {"SessionId": ctx.session_id, "MechanismId": mechanism_id, "Action": action}
        if answer is not None:
            body["Answer"] = answer
        if ctx.tenant_id:
            body["TenantId"] = ctx.tenant_id
        envelope, set_cookies = await self._login_call(ctx.base_url + ADVANCE_PATH, body, ctx.cookies)
        if not envelope.success:
            # Never pass the tenant's Message on: it is generic at best and could name the cause.
            raise LoginFailed(f"AdvanceAuthentication {action} failed")
        reply = parse_advance(envelope.result)
        context = ctx.model_copy(update={"cookies": merge_cookies(ctx.cookies, set_cookies)})
        if isinstance(reply, NoncommittalReply):
            # The BFF has no step that shows a tenant message without a login; ClientMessage stays here.
            raise LoginFailed("tenant ended the login without success")
        if isinstance(reply, PackageReply):
            _raise_if_waiting(reply)
            if reply.session_id is not None:
                context = context.model_copy(update={"session_id": reply.session_id})
            return NewPackage(package=reply.package), context
        if isinstance(reply, SuccessReply):
            # The body's "Auth" is a one-time token; the .ASPXAUTH cookie is the one good for many calls.
            token = set_cookies.get(TOKEN_COOKIE)
            if not token:
                raise TenantProtocolError("tenant reports a login without a .ASPXAUTH cookie")
            return LoggedIn(token=token, user=reply.user, base_url=ctx.base_url), context
        return reply, context

    # Federated logins (OobIdPAuth) -----------------------------------------------------------------

    async def oob_status(self, ctx: LoginContext, username: str) -> TenantStep:
        """``POST /Security/OobAuthStatus``: :class:`Pending` or :class:`LoggedIn`; LoginFailed otherwise.

        ``username`` is the name the user typed, the user's name of last resort.
        """
        body = {"SessionId": ctx.session_id}
        envelope, _ = await self._login_call(ctx.base_url + OOB_STATUS_PATH, body, ctx.cookies)
        if not envelope.success:
            raise LoginFailed("OobAuthStatus failed")
        reply = parse_oob_status(envelope.result)
        if isinstance(reply, Pending):
            return reply, ctx
        if isinstance(reply, NoncommittalReply):
            raise LoginFailed("the identity provider did not sign the user in")
        return await self._federated_login(ctx, username, reply, reply.token), ctx

    async def answer_pin(self, ctx: LoginContext, username: str, pin: str) -> TenantStep:
        """AdvanceAuthentication ``MechanismId: OOBAUTHPIN`` with the PIN the IdP's page showed."""
        body: dict[str, Any] = {
            "SessionId": ctx.session_id,
            "MechanismId": PIN_MECHANISM,
            "Action": "Answer",
            "Answer": pin,
        }
        if ctx.tenant_id:
            body["TenantId"] = ctx.tenant_id
        envelope, set_cookies = await self._login_call(ctx.base_url + ADVANCE_PATH, body, ctx.cookies)
        if not envelope.success:
            raise LoginFailed("AdvanceAuthentication OOBAUTHPIN failed")
        reply = parse_pin_answer(envelope.result)
        if isinstance(reply, NoncommittalReply):
            raise LoginFailed("tenant ended the federated login without success")
        # The result's Token, else the .ASPXAUTH cookie; never the one-time "Auth".
        token = reply.token or set_cookies.get(TOKEN_COOKIE)
        return await self._federated_login(ctx, username, reply, token), ctx

    async def _federated_login(
        self, ctx: LoginContext, username: str, reply: IdpSuccess, token: str | None
    ) -> LoggedIn:
        if not token:
            raise TenantProtocolError("tenant reports a federated login without a token")
        user = reply.user
        if user is None:
            try:
                envelope = await self._bearer_call(token, WHOAMI_PATH, ctx.base_url)
            except TokenRejected as exc:
                raise LoginFailed("tenant refused the new token at Whoami") from exc
            user = parse_whoami_user(envelope.result, username)
        return LoggedIn(token=token, user=user, base_url=ctx.base_url, lifetime=reply.lifetime)

    async def _login_call(
        self,
        url: str,
        body: dict[str, Any],
        cookies: Mapping[str, str],
        extra_headers: Mapping[str, str] | None = None,
    ) -> tuple[Envelope, dict[str, str | None]]:
        headers = {**JSON_HEADERS, **(extra_headers or {})}
        cookie = cookie_header(cookies)
        if cookie is not None:
            headers["Cookie"] = cookie
        request = self._http.build_request("POST", url, content=json.dumps(body).encode(), headers=headers)
        response = await self._send(request)
        _raise_for_gateway(response)
        envelope = parse_envelope(response.status_code, response.content)
        return envelope, read_set_cookies(response.headers.get_list("set-cookie"))

    # Bearer calls --------------------------------------------------------------------------------------

    async def logout(self, token: str, base_url: str | None = None) -> bool:
        """``/Security/Logout``: True when the tenant ended the token, False when it was already not valid.

        ``base_url`` is the tenant host that issued the token (a pod); ``CYBERARK_TENANT_URL`` when None.
        """
        try:
            await self._bearer_call(token, LOGOUT_PATH, base_url)
        except TokenRejected:
            return False
        return True

    async def _bearer_call(self, token: str, path: str, base_url: str | None = None) -> Envelope:
        headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}"}
        url = (base_url or self.base_url) + path
        request = self._http.build_request("POST", url, content=b"{}", headers=headers)
        response = await self._send(request)
        if response.status_code in (401, 403):
            raise TokenRejected(f"tenant answered HTTP {response.status_code} to a bearer call")
        _raise_for_gateway(response)
        envelope = parse_envelope(response.status_code, response.content)
        if not envelope.success:
            if envelope.result is None:
                raise TokenRejected("tenant says the bearer is not valid")
            raise TenantProtocolError("tenant refused a bearer call with a result")
        return envelope

    # Transport -----------------------------------------------------------------------------------------

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with the browser request's X-Request-ID; httpx's errors become ours."""
        request_id = current_request_id.get()
        if request_id is not None and "x-request-id" not in request.headers:
            request.headers["X-Request-ID"] = request_id
        call = _call_name(request.url.path)
        started = time.perf_counter()
        try:
            if self.trace is None:
                response = await self._http.send(request)
            else:
                with self.trace(call, request.method) as span:
                    request.headers.update(span.headers)
                    response = await self._http.send(request)
                    span.answered(response.status_code)
            if self.observe is not None:
                self.observe(call, time.perf_counter() - started)
            return response
        except httpx.TimeoutException as exc:
            raise TenantTimeout(f"tenant did not answer {request.url.path} in time") from exc
        except httpx.TransportError as exc:
            # Connect, read and write errors, dropped connections, TLS failures: the tenant is not reachable.
            raise TenantUnavailable(
                f"tenant unreachable for {request.url.path}: {type(exc).__name__}"
            ) from exc
        except httpx.DecodingError as exc:
            raise TenantProtocolError("tenant reply cannot be decoded") from exc


def _raise_if_waiting(reply: PackageReply) -> None:
    if reply.retry_after > 0:
        raise TenantRateLimited(reply.retry_after)


def _raise_for_gateway(response: httpx.Response) -> None:
    """5xx: the tenant (or its gateway) is down; 429: it asks to slow down."""
    if response.status_code >= 500:
        raise TenantUnavailable(f"tenant answered HTTP {response.status_code}")
    if response.status_code == 429:
        raise TenantRateLimited(_retry_after_header(response.headers.get("retry-after")))


def _retry_after_header(value: str | None) -> float:
    if value is not None and value.strip().isdigit():
        return float(value.strip())
    return 1.0


def _same_host(pod: str, base_url: str) -> bool:
    """Whether the bare ``host[:port]`` ``pod`` names the host of ``base_url`` (default ports included)."""
    base = urlsplit(base_url)
    target = urlsplit(f"{base.scheme}://{pod}")
    default = 443 if base.scheme == "https" else 80
    try:
        return (target.hostname, target.port or default) == (base.hostname, base.port or default)
    except ValueError as exc:
        raise TenantProtocolError("tenant PodFqdn has an invalid port") from exc


_CALL_NAMES = {
    START_PATH: "start",
    ADVANCE_PATH: "advance",
    CLEANUP_PATH: "cleanup",
    LOGOUT_PATH: "logout",
    WHOAMI_PATH: "whoami",
    OOB_STATUS_PATH: "oob_status",
}


def _call_name(path: str) -> str:
    # A fixed label set: a metric label per proxied path would grow without bound.
    name = _CALL_NAMES.get(path)
    if name is not None:
        return name
    if path.startswith("/OAuth2/"):
        # /OAuth2/Token/{app} and the like: one label per endpoint ("oauth_token"), never the app id.
        return _OAUTH_CALL_NAMES.get(path.split("/")[2], "oauth")
    return "api"


_OAUTH_CALL_NAMES = {
    "Token": "oauth_token",
    "Revoke": "oauth_revoke",
    "UserInfo": "oauth_userinfo",
    "Keys": "oauth_keys",
}
