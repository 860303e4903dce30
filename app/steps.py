"""The JSON the SPA sees during a login (spec api.md §2, "A step is one of"), as pydantic models.

Example::

    ChallengeStep(challenge=ChallengeView(index=0, count=2, mechanisms=[...])).model_dump(exclude_none=True)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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
    status: Literal["redirect"] = "redirect"
    url: str


class UserView(BaseModel):
    id: str
    username: str
    display_name: str | None = None
    email: str | None = None
    tenant: str | None = None


class AuthenticatedStep(BaseModel):
    status: Literal["authenticated"] = "authenticated"
    user: UserView


Step = Annotated[
    ChallengeStep | PendingStep | RedirectStep | AuthenticatedStep, Field(discriminator="status")
]


# Requests --------------------------------------------------------------------------------------------

_MAX_ANSWER = 1024


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=256)

    @field_validator("username")
    @classmethod
    def _printable(cls, value: str) -> str:
        value = value.strip()
        if not value or not value.isprintable():
            raise ValueError("username must be printable text")
        return value


class AdvanceRequest(BaseModel):
    """``{"mechanism": id, "answer": str | {question: text}}``, or ``"action": "start_oob"`` for answer."""

    model_config = ConfigDict(extra="forbid")

    mechanism: str = Field(min_length=1, max_length=64)
    answer: (
        Annotated[str, Field(max_length=_MAX_ANSWER)]
        | dict[str, Annotated[str, Field(max_length=_MAX_ANSWER)]]
        | None
    ) = None
    action: Literal["start_oob"] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AdvanceRequest:
        if (self.answer is None) == (self.action is None):
            raise ValueError("give exactly one of answer and action")
        if isinstance(self.answer, dict) and not 1 <= len(self.answer) <= 16:
            raise ValueError("a multi-part answer has 1 to 16 parts")
        return self


class EmptyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
