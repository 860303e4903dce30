"""The JSON log line: every value spelled as json.dumps would, extra fields never posing as the fixed ones."""

from __future__ import annotations

import json
import logging
import math
import sys

from hypothesis import given
from hypothesis import strategies as st

from app.observe.logs import JsonFormatter

FORMATTER = JsonFormatter()
LOGGER = logging.getLogger("bff.test")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),  # quotes, backslashes, controls, non-ASCII, lone surrogates
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
)
field_names = st.text(min_size=1).filter(
    lambda k: (
        k not in logging.makeLogRecord({}).__dict__
        and k not in ("message", "asctime", "time", "level", "logger")
        and k[0] != "_"
    )
)


def line_for(message: str, args: tuple[object, ...] = (), **extra: object) -> str:
    record = LOGGER.makeRecord(LOGGER.name, logging.INFO, "", 0, message, args, None, extra=extra)
    return FORMATTER.format(record)


@given(st.dictionaries(field_names, values, max_size=6), st.text())
def test_every_value_is_spelled_as_json_dumps_would(extra: dict[str, object], message: str) -> None:
    line = line_for("%s", (message,), **extra)
    assert "\n" not in line and line.isascii()
    # Compared as text: a float or a nested value must come out byte for byte as json.dumps writes it.
    fixed, _, rest = line.partition(',"message":')
    assert fixed.startswith('{"time":"') and fixed.endswith('","level":"info","logger":"bff.test"')
    expected = json.dumps({"message": message, **extra}, default=str, separators=(",", ":"))
    assert "{" + '"message":' + rest == expected


def test_objects_without_a_json_form_are_their_str() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    parsed = json.loads(line_for("m", thing=Opaque(), items=[Opaque()]))
    assert parsed["thing"] == "opaque" and parsed["items"] == ["opaque"]


def test_non_finite_floats_keep_json_dumps_spelling() -> None:
    parsed = json.loads(line_for("m", nan=math.nan, inf=math.inf))
    assert math.isnan(parsed["nan"]) and parsed["inf"] == math.inf


def test_extra_fields_cannot_pose_as_time_level_or_logger() -> None:
    parsed = json.loads(line_for("m", time="1970", level="critical", logger="bff.auth", ok=1))
    assert parsed["level"] == "info" and parsed["logger"] == "bff.test" and parsed["time"] != "1970"
    assert parsed["ok"] == 1


def test_an_exception_is_named_by_its_type_only() -> None:
    try:
        raise ValueError("password=hunter2")
    except ValueError:
        record = LOGGER.makeRecord(LOGGER.name, logging.ERROR, "", 0, "failed", (), sys.exc_info())
    line = FORMATTER.format(record)
    assert json.loads(line)["exception"] == "ValueError"
    assert "hunter2" not in line
