"""``NAME_FILE`` variables: a settings source that reads a variable's value from a file.

Example: ``BFF_SESSION_SECRETS_FILE=/run/secrets/s`` sets ``BFF_SESSION_SECRETS`` to that file's content, as
Docker and Kubernetes mount secrets. :class:`app.settings.Settings` puts this source ahead of the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource


class Unreadable:
    """A ``NAME_FILE`` that could not be read: the field validators turn it into a one-line problem."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class FileVariables(PydanticBaseSettingsSource):
    """``NAME_FILE=/path`` in the environment: the value of NAME is that file's content (one newline at its
    end dropped). Setting both NAME and NAME_FILE is a configuration error."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        environ = {k.upper(): v for k, v in os.environ.items()}
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            variable = name.upper()
            path = environ.get(variable + "_FILE")
            if not path:
                continue
            if environ.get(variable):
                values[name] = Unreadable(f"set either {variable} or {variable}_FILE, not both")
                continue
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                values[name] = Unreadable(f"cannot read {variable}_FILE={path} ({reason})")
                continue
            values[name] = text.removesuffix("\n").removesuffix("\r")
        return values
