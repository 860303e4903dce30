"""The CyberArk Identity tenant client and our typed view of its login protocol.

Only this package knows the tenant's field names; callers use :class:`TenantClient` and the models below.
"""

from app.identity.client import MAX_POD_HOPS, TenantClient, TenantStep
from app.identity.envelope import is_token_rejection
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

__all__ = [
    "MAX_POD_HOPS",
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
    "Question",
    "StartResult",
    "Started",
    "TenantClient",
    "TenantStep",
    "TenantUser",
    "is_token_rejection",
]
