"""The JSON the SPA sees during a login (spec api.md §2, "A step is one of"), as pydantic models.

Example::

    ChallengeStep(challenge=ChallengeView(index=0, count=2, mechanisms=[...])).model_dump(exclude_none=True)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.identity.models import User


class QuestionView(BaseModel):
    id: str
    text: str


class MechanismView(BaseModel):
    """One mechanism as the browser sees it: the BFF's own opaque ``id``, never the tenant's."""

    id: str
    name: str
    kind: Literal["text", "oob", "text_oob"]
    label: str
    prompt: str | None = None
    questions: list[QuestionView] | None = None


class ChallengeView(BaseModel):
    index: int
    count: int
    mechanisms: list[MechanismView]


class ChallengeStep(BaseModel):
    status: Literal["challenge"] = "challenge"
    challenge: ChallengeView


class PendingStep(BaseModel):
    status: Literal["pending"] = "pending"
    mechanism: str
    prompt: str | None = None
    #: The number to tap in the mobile app (push number matching); only when the tenant sent one.
    number: str | None = None


class RedirectStep(BaseModel):
    """A federated user: open ``url`` in a new window, poll, and send the PIN to ``mechanism`` if ``pin``."""

    status: Literal["redirect"] = "redirect"
    url: str
    mechanism: str
    pin: bool


# The signed-in User as the browser sees it (api.md §2's user object). No docstring: it would become the
# schema's description, and the OpenAPI document (and the npm client's types made from it) would change.
class UserView(BaseModel):
    id: str
    username: str
    display_name: str | None = None
    email: str | None = None
    tenant: str | None = None

    @classmethod
    def of(cls, user: User) -> UserView:
        """What the browser sees of ``user``."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            tenant=user.tenant,
        )


class AuthenticatedStep(BaseModel):
    status: Literal["authenticated"] = "authenticated"
    user: UserView


Step = Annotated[
    ChallengeStep | PendingStep | RedirectStep | AuthenticatedStep, Field(discriminator="status")
]


# Requests --------------------------------------------------------------------------------------------

_MAX_ANSWER = 1024


#: No C0/C1 control characters nor line or paragraph separators, and at least one non-space character;
#: written as a pattern so that the OpenAPI document states the rule the BFF applies.
_TEXT = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]"
USERNAME_PATTERN = rf"^{_TEXT}*{_VISIBLE}{_TEXT}*$"

Answer = Annotated[str, Field(max_length=_MAX_ANSWER)]
#: The alphabet the BFF's own mechanism ids are written in (``secrets.token_urlsafe``).
MECHANISM_ID_PATTERN = r"^[A-Za-z0-9_-]+$"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=256, pattern=USERNAME_PATTERN)

    @field_validator("username")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class AnswerRequest(BaseModel):
    """``{"mechanism": id, "answer": "text"}``; for several parts ``{"answer": {question id: text, ...}}``."""

    model_config = ConfigDict(extra="forbid")

    mechanism: str = Field(min_length=1, max_length=64, pattern=MECHANISM_ID_PATTERN)
    answer: Answer | Annotated[dict[str, Answer], Field(min_length=1, max_length=16)]


class StartOobRequest(BaseModel):
    """``{"mechanism": id, "action": "start_oob"}``: send the mail, text, push or call."""

    model_config = ConfigDict(extra="forbid")

    mechanism: str = Field(min_length=1, max_length=64, pattern=MECHANISM_ID_PATTERN)
    action: Literal["start_oob"]


#: The body of ``POST /auth/advance``: exactly one of the two shapes (``extra="forbid"`` keeps them apart).
AdvanceRequest = AnswerRequest | StartOobRequest


class EmptyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
