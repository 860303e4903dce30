"""Just enough of a Dockerfile parser for the tests: stages, instructions, ENV, CMD and HEALTHCHECK.

Example::

    image = Dockerfile.read(ROOT / "Dockerfile")
    image.final.cmd()  # ["sh", "-c", "exec uvicorn ..."]
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instruction:
    """One instruction with its continuation lines joined: ``Instruction("COPY", "app ./app")``."""

    keyword: str
    rest: str


@dataclass
class Stage:
    """The instructions from one ``FROM`` to the next."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in stage {self.name}, found {len(found)}"
        return found[0]

    def env(self) -> list[tuple[str, str]]:
        """``ENV`` pairs in order (``K=V`` form; values unquoted as the shell would)."""
        pairs = []
        for instruction in self.all("ENV"):
            for token in shlex.split(instruction.rest):
                name, sep, value = token.partition("=")
                assert sep, f"ENV {instruction.rest!r}: use the K=V form"
                pairs.append((name, value))
        return pairs

    def cmd(self) -> list[str]:
        value = json.loads(self.one("CMD").rest)
        assert isinstance(value, list), "CMD must use the exec (JSON) form"
        return [str(part) for part in value]

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """The ``--option=value`` flags and the exec-form command of ``HEALTHCHECK``."""
        options, _, command = self.one("HEALTHCHECK").rest.partition("CMD ")
        flags = dict(flag.lstrip("-").split("=", 1) for flag in options.split())
        return flags, [str(part) for part in json.loads(command)]

    def copies(self) -> list[tuple[list[str], str, str | None]]:
        """``COPY`` as (sources, destination, ``--from`` stage or None)."""
        result = []
        for instruction in self.all("COPY"):
            tokens = shlex.split(instruction.rest)
            source_stage = None
            while tokens and tokens[0].startswith("--"):
                flag = tokens.pop(0)
                if flag.startswith("--from="):
                    source_stage = flag.split("=", 1)[1]
            result.append((tokens[:-1], tokens[-1], source_stage))
        return result


@dataclass
class Dockerfile:
    """A parsed Dockerfile: global ``ARG`` defaults and the stages in order."""

    args: dict[str, str]
    stages: list[Stage]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        return cls.parse(path.read_text())

    @classmethod
    def parse(cls, text: str) -> Dockerfile:
        args: dict[str, str] = {}
        stages: list[Stage] = []
        for instruction in _instructions(text):
            if instruction.keyword == "FROM":
                match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", instruction.rest, re.IGNORECASE)
                assert match, f"FROM {instruction.rest!r}"
                base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), match.group(1))
                stages.append(Stage(base=base, name=match.group(2)))
            elif not stages and instruction.keyword == "ARG":
                name, _, default = instruction.rest.partition("=")
                args[name] = default
            else:
                assert stages, f"{instruction.keyword} before the first FROM"
                stages[-1].instructions.append(instruction)
        return cls(args=args, stages=stages)

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def _instructions(text: str) -> list[Instruction]:
    result: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        # Docker drops comment lines even in the middle of a continued instruction.
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, rest = full.partition(" ")
        result.append(Instruction(keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return result
