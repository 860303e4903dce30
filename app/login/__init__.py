"""The login flows: the tenant's API login steps (flow and step shapes)."""

from app.login.flow import Advanced, AnyStep, LoginFlow, LoginState
from app.login.steps import AdvanceRequest, AnswerRequest, EmptyRequest, LoginRequest, Step, UserView

__all__ = [
    "AdvanceRequest",
    "Advanced",
    "AnswerRequest",
    "AnyStep",
    "EmptyRequest",
    "LoginFlow",
    "LoginRequest",
    "LoginState",
    "Step",
    "UserView",
]
