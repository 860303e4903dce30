"""The CyberArk Identity tenant: its two clients (logins, proxy) and our typed view of its login protocol.

Only this package knows the tenant's field names; callers use :class:`TenantClient` and the models below.
"""

from app.identity.client import MAX_POD_HOPS, TenantClient, TenantStep
from app.identity.envelope import is_token_rejection, rejects_token
from app.identity.models import (
    Challenge,
    FederatedRedirect,
    LoggedIn,
    LoginContext,
    Mechanism,
    MechanismKind,
    NewPackage,
    NextChallenge,
    Outcome,
    Package,
    Pending,
    Question,
    Started,
    StartResult,
    TenantUser,
)
from app.identity.upstream import NATIVE_CLIENT, ProxyUpstream, Upstream

__all__ = [
    "MAX_POD_HOPS",
    "NATIVE_CLIENT",
    "Challenge",
    "FederatedRedirect",
    "LoggedIn",
    "LoginContext",
    "Mechanism",
    "MechanismKind",
    "NewPackage",
    "NextChallenge",
    "Outcome",
    "Package",
    "Pending",
    "ProxyUpstream",
    "Question",
    "StartResult",
    "Started",
    "TenantClient",
    "TenantStep",
    "TenantUser",
    "Upstream",
    "is_token_rejection",
    "rejects_token",
]
