"""Unknown ``BFF_*`` and ``CYBERARK_*`` variable names: a misspelt name would otherwise be silently ignored.

Example::

    near_misses(["BFF_LOGIN_MODE", "BFF_SERVICE_HOST"])   # [("BFF_LOGIN_MODE", "BFF_LOGIN_MODES")]

A near miss (case-insensitive edit distance of at most 2 from a known name) is refused in production by
:mod:`app.configuration`: ``BFF_LOGIN_MODE=oauth`` would leave the BFF taking passwords in ``api`` mode.
Every other unknown name only warns, so the variables Kubernetes adds for each Service in the namespace
(``CYBERARK_BFF_SERVICE_HOST``, ``CYBERARK_BFF_PORT=tcp://...``) never stop a pod.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.settings import Settings

log = logging.getLogger("bff.settings")

#: BFF_* variables that are not settings: read by the image's command (Dockerfile CMD) or by compose.
NOT_SETTINGS = frozenset({"BFF_PORT", "BFF_WORKERS", "BFF_IMAGE_TAG", "BFF_PUBLISH"})
#: The largest edit distance at which an unknown name is taken for a misspelling of a known one.
NEAR_MISS_DISTANCE = 2


def known_names() -> frozenset[str]:
    """Every variable the BFF or its image reads, upper-case."""
    fields = {name.upper() for name in Settings.model_fields}
    return frozenset(fields | {name + "_FILE" for name in fields} | NOT_SETTINGS)


def _ours(name: str) -> bool:
    return name.upper().startswith(("BFF_", "CYBERARK_"))


def edit_distance(a: str, b: str, *, limit: int) -> int:
    """The Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _nearest(upper: str, known: Iterable[str]) -> str | None:
    """The known name within :data:`NEAR_MISS_DISTANCE` of ``upper`` (the closest; ties alphabetically)."""
    scored = [(edit_distance(upper, name, limit=NEAR_MISS_DISTANCE), name) for name in sorted(known)]
    distance, name = min(scored, default=(NEAR_MISS_DISTANCE + 1, ""))
    return name if distance <= NEAR_MISS_DISTANCE else None


def near_misses(names: Iterable[str]) -> list[tuple[str, str]]:
    """Each unknown ``BFF_*``/``CYBERARK_*`` name that is a near miss, with the name it probably meant."""
    known = known_names()
    found = []
    for name in sorted(set(names)):
        upper = name.upper()
        if _ours(name) and upper not in known:
            meant = _nearest(upper, known)
            if meant is not None:
                found.append((name, meant))
    return found


def unknown_variables(names: Iterable[str]) -> list[tuple[str, str | None]]:
    """The ``BFF_*`` / ``CYBERARK_*`` names the BFF would ignore, each with the closest known name."""
    known = known_names()
    unknown = []
    for name in sorted(set(names)):
        upper = name.upper()
        if _ours(name) and upper not in known:
            close = _nearest(upper, known) or next(
                iter(difflib.get_close_matches(upper, known, n=1, cutoff=0.8)), None
            )
            unknown.append((name, close))
    return unknown


def variable_names(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> set[str]:
    """The names set in the environment and in ``env_file`` (none from it when ``None`` or not a file)."""
    names = set(os.environ if environ is None else environ)
    dotenv = env_file
    if dotenv is not None and dotenv.is_file():
        from dotenv import dotenv_values

        names |= set(dotenv_values(dotenv))
    return names


def warn_unknown_variables(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> None:
    """Log a warning for each unknown variable of the environment and of ``.env`` (a typo is otherwise
    silently ignored: BFF_COOKIE_SECUR=false would leave the cookie Secure)."""
    for name, close in unknown_variables(variable_names(environ, env_file)):
        hint = f" (did you mean {close}?)" if close else ""
        log.warning(f"unknown variable {name} is ignored{hint}", extra={"variable": name})
