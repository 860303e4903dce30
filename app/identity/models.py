"""Our own typed view of a tenant login: mechanisms, packages, outcomes and the login context.

Nothing here names a tenant field; :mod:`app.identity.results` maps the tenant's JSON onto these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MechanismKind = Literal["text", "oob", "text_oob"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Question(_Frozen):
    """One part of a multi-part security question, e.g. ``Question(id="3f…", text="First pet?")``."""

    id: str
    text: str


class Mechanism(_Frozen):
    """One way to satisfy a challenge.

    Example::

        Mechanism(id="<MechanismId>", name="UP", kind="text", label="Password", prompt="Enter Password")
    """

    #: The tenant's opaque ``MechanismId``; the BFF shows the browser its own ids instead.
    id: str = Field(repr=False)
    name: str
    kind: MechanismKind
    label: str
    prompt: str | None = None
    #: Only for multi-part security questions, answered with ``{question.id: text, ...}``.
    questions: tuple[Question, ...] | None = None


class Challenge(_Frozen):
    """One step of a package: satisfy exactly one of its mechanisms, e.g. ``Challenge(mechanisms=(m,))``."""

    mechanisms: tuple[Mechanism, ...]


class Package(_Frozen):
    """The challenges of a login, answered in order, e.g. ``Package(challenges=(password, mfa))``."""

    challenges: tuple[Challenge, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Any) -> Package:
        """Read :meth:`to_dict`'s output; raises ``ValueError`` (pydantic's) when it is not one."""
        return cls.model_validate(data)


class LoginContext(_Frozen):
    """What a login in progress needs between browser requests; store it encrypted (it holds the SessionId).

    Example::

        ctx = LoginContext(base_url="https://abc.id.cyberark.cloud", session_id="…", cookies={"SimLB": "…"})
        LoginContext.from_dict(json.loads(json.dumps(ctx.to_dict()))) == ctx
    """

    #: The pod that answered StartAuthentication; every later call of this login goes there.
    base_url: str
    session_id: str = Field(repr=False)
    tenant_id: str | None = None
    #: Cookies the tenant set for this login only (e.g. a load-balancer or ``CCSID`` cookie).
    cookies: dict[str, str] = Field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Any) -> LoginContext:
        """Read :meth:`to_dict`'s output; raises ``ValueError`` (pydantic's) when it is not one."""
        return cls.model_validate(data)


# Not frozen, as Session is not: a frozen dataclass sets each field through object.__setattr__, a call per
# field, and every proxied call decodes one from its record. Nothing assigns to its fields; a changed user is
# a new one (dataclasses.replace).
@dataclass(slots=True)
class User:
    """The signed-in user, whichever way they signed in: ``User(id="c2c…", username="jane@example.com")``.

    Each login mode maps its answer onto it in one place: the API login's ``LoginSuccess`` and the federated
    Whoami fallback in :mod:`app.identity.results`, the OAuth ``id_token``/UserInfo claims in
    :meth:`app.identity.oauth.OAuthClient.user`. A session keeps it in its record (:meth:`to_dict`); the
    browser sees it as ``UserView``. A dataclass rather than a model, for the same reason.
    """

    id: str
    username: str
    display_name: str | None = None
    email: str | None = None
    #: The tenant's host (``host[:port]``) the session talks to (api.md §2). The API login's parsers read the
    #: pod's name or the customer id here, and the login flow replaces it with the host.
    tenant: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The fields that are set, as a session record keeps them; :meth:`from_dict` reads them back."""
        values = {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
            "tenant": self.tenant,
        }
        return {name: value for name, value in values.items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        """Read :meth:`to_dict`'s output; ``KeyError`` without an id or user name, ``AttributeError`` for a
        non-object."""
        get = data.get
        # Only to_dict writes these (the record is sealed), so the optional fields are strings or absent.
        return cls(str(data["id"]), str(data["username"]), get("display_name"), get("email"), get("tenant"))


# Start -----------------------------------------------------------------------------------------------


class Started(_Frozen):
    """StartAuthentication gave a challenge package, e.g. ``Started(context=ctx, package=pkg)``."""

    context: LoginContext
    package: Package


class FederatedRedirect(_Frozen):
    """The user signs in at an external identity provider, out of band; the BFF polls or takes a PIN.

    Example::

        FederatedRedirect(url="https://abc.id.cyberark.cloud/u/…", pin=False, context=ctx)

    ``context.session_id`` is the tenant's ``IdpLoginSessionId``: keep it sealed, like any SessionId.
    """

    url: str
    #: The IdP's page shows a PIN that the user types into the app to finish.
    pin: bool = False
    context: LoginContext


StartResult = Started | FederatedRedirect


# Advance ---------------------------------------------------------------------------------------------


class NextChallenge(_Frozen):
    """The current challenge is satisfied; go on with the next one of the package."""


class Pending(_Frozen):
    """An out-of-band mechanism is under way; poll it. ``number`` is the push number to tap, if any."""

    number: str | None = None


class NewPackage(_Frozen):
    """The tenant replaced the package (e.g. a forced password reset); start at its first challenge."""

    package: Package


class LoggedIn(_Frozen):
    """The login succeeded, e.g. ``LoggedIn(token="<.ASPXAUTH>", user=User(...))``."""

    #: The duration-based ``.ASPXAUTH`` value (a federated login's ``Token``), used as ``Authorization:
    #: Bearer``; never log it.
    token: str = Field(repr=False)
    user: User
    #: The tenant host (``scheme://host[:port]``) that issued the token: every bearer call goes there.
    base_url: str | None = None
    #: Seconds the token is good for, when the tenant said (``TokenLifetime``).
    lifetime: float | None = None


Outcome = NextChallenge | Pending | NewPackage | LoggedIn
