"""Reading the settings at start-up: every problem at once, one line each naming its variable, exit 2.

Example::

    settings = load_settings_or_exit()          # uvicorn app.main:app, python -m app.admin, make run
    settings, problems = configuration_problems(bff_env="production")   # the same, without exiting
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.settings import Settings
from app.variable_names import near_misses, variable_names


def _lines(error: ValidationError) -> Iterator[tuple[str | None, str]]:
    """(field or None, one line naming the variable) for each problem in ``error``."""
    for item in error.errors():
        loc = item.get("loc", ())
        msg = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        if loc:
            yield str(loc[0]), f"{'.'.join(str(p) for p in loc).upper()}: {msg}"
        else:
            for line in msg.splitlines():  # the cross-variable checks, one line per problem
                yield None, line


class _Environment(BaseSettings):
    """``BFF_ENV`` alone, read from the same places as the settings: whether the name checks apply even
    when other variables are bad."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bff_env: str = "development"


def _misspelt(overrides: dict[str, object], settings: Settings | None) -> list[str]:
    """In production, one line per unknown variable name that is a near miss of a known one."""
    env_file = overrides.get("_env_file", ".env")
    dotenv = Path(env_file) if isinstance(env_file, str | Path) else None
    env: str
    if settings is not None:
        env = settings.bff_env
    else:
        env = str(overrides.get("bff_env") or _Environment(_env_file=dotenv).bff_env)
    if env != "production":
        return []
    return [
        f"{name}: not a known variable; did you mean {meant}? (a misspelt name is refused in production)"
        for name, meant in near_misses(variable_names(env_file=dotenv))
    ]


def configuration_problems(**overrides: object) -> tuple[Settings | None, list[str]]:
    """The settings, or every problem with them: one line each, each naming its variable.

    pydantic reports every bad variable, but the checks across variables (production guards) only run once
    each variable is valid on its own: so the bad ones are set to their defaults and the rest checked again.
    A cross-variable line that names a variable already reported is left out (it would be about the default).
    In production a name that is a near miss of a known one is a problem too (:mod:`app.variable_names`).
    """
    problems: list[str] = []
    failed: dict[str, object] = {}
    settings: Settings | None = None
    for _ in range(len(Settings.model_fields) + 1):
        try:
            settings = Settings(**{**overrides, **failed})  # type: ignore[arg-type]
        except ValidationError as exc:
            found = False
            for field, line in _lines(exc):
                if field in Settings.model_fields and field not in failed:
                    failed[field] = Settings.model_fields[field].get_default(call_default_factory=True)
                    problems.append(line)
                    found = True
                elif field is None and not any(name.upper() in line for name in failed):
                    problems.append(line)
            if not found:
                break
        else:
            break
    # A settings object built with defaults in place of bad values still has the operator's BFF_ENV (or the
    # default, when BFF_ENV itself was bad).
    problems += _misspelt(overrides, settings)
    if problems:
        return None, problems
    return settings, []


def load_settings_or_exit(**overrides: object) -> Settings:
    """Read the settings; on bad values print one line per problem, each naming its variable; exit 2."""
    settings, problems = configuration_problems(**overrides)
    if settings is None:
        sys.stderr.write("".join(f"configuration error: {line}\n" for line in problems))
        raise SystemExit(2)
    return settings
