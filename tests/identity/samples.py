"""Tenant replies shaped like a real tenant's, for the parser tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st


def mechanism(name: str, answer_type: str, mech_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "AnswerType": answer_type,
        "Name": name,
        "PromptMechChosen": f"Enter {name}",
        "PromptSelectMech": f"Select {name}",
        "MechanismId": mech_id,
        "Enrolled": True,
        **extra,
    }


PACKAGE_RESULT: dict[str, Any] = {
    "ClientHints": {"PersistDefault": False, "AllowPersist": True, "AllowForgotPassword": False},
    "Version": "1.0",
    "SessionId": "c2e3-session-opaque",
    "EventDescription": None,
    "RetryWaitingTime": 0,
    "SecurityImageName": None,
    "AllowLoginMfaCache": False,
    "Challenges": [
        {"Mechanisms": [mechanism("UP", "Text", "m-up")]},
        {
            "Mechanisms": [
                mechanism("EMAIL", "StartTextOob", "m-email", MaskedEmailAddress="j***@example.com"),
                mechanism("PF", "StartOob", "m-pf", PartialPhoneNumber="1234"),
                mechanism("QR", "QR", "m-qr", Image="data:image/png;base64,AAAA"),
                mechanism(
                    "SQ",
                    "Text",
                    "m-sq",
                    MultipartMechanism={
                        "MechanismParts": [
                            {"Uuid": "q1", "QuestionText": "First pet?"},
                            {"Uuid": "q2", "QuestionText": "Home town?"},
                        ]
                    },
                ),
            ]
        },
    ],
    "Summary": "NewPackage",
    "TenantId": "ABC1234",
    "PodFqdn": "abc1234.id.cyberark.cloud",
}

SUCCESS_RESULT: dict[str, Any] = {
    "AuthLevel": "Normal",
    "DisplayName": "Jane Doe",
    "Auth": "ONE-TIME-TOKEN",
    "UserId": "2f9c-user-id",
    "EmailAddress": "jane@example.com",
    "UserDirectory": "CDS",
    "PodFqdn": "abc1234.id.cyberark.cloud",
    "User": "jane@example.com",
    "CustomerID": "ABC1234",
    "SystemID": "ABC1234",
    "SourceDsType": "CDS",
    "Summary": "LoginSuccess",
}


def envelope(result: Any, success: bool = True) -> dict[str, Any]:
    return {
        "success": success,
        "Result": result,
        "Message": None,
        "MessageID": None,
        "Exception": None,
        "ErrorID": None,
        "ErrorCode": None,
        "IsSoftError": False,
        "InnerExceptions": None,
    }


def body(result: Any, success: bool = True) -> bytes:
    return json.dumps(envelope(result, success)).encode()


def package(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(PACKAGE_RESULT)
    data.update(changes)
    return data


#: Any JSON value, nested a little.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
