"""The proxy allow-list: rule parsing, raw-path normalisation and matching (deny by default).

Example::

    rules = AllowList.from_text("POST /UPRest/GetUPData, GET /UserMgmt/*")
    rules.allows_raw("GET", b"/UserMgmt/GetUser")  # True
    rules.allows_raw("GET", b"/UserMgmt/%2e%2e/Admin")  # False: refused before matching

Rule syntax (``BFF_PROXY_ALLOW``): comma-separated ``METHOD /path`` items.

- ``METHOD`` is one of :data:`METHODS` (upper case) or ``*``, which means any of :data:`METHODS` (never
  TRACE, CONNECT or an invented method).
- A path segment is a literal of :data:`SEGMENT_CHARS`, ``*`` (exactly one non-empty segment) or, as the last
  segment only, ``**`` (ONE or more further segments: ``GET /Docs/**`` does not allow ``GET /Docs`` itself,
  so a rule for a subtree never grants its parent endpoint).
- Literal segments match case-sensitively. The tenant may treat paths case-insensitively; with allow-only
  rules that can only make the BFF refuse more, never allow more.

Path normalisation (:func:`normalise_path`) refuses, rather than repairs, every ambiguous spelling: anything
outside RFC 3986 ``pchar`` and ``/``, ``;`` parameters, ``?``/``#``, backslashes, empty segments (``//``, a
trailing ``/``, the bare root ``/``), dot-only segments (``.``, ``..``, ``...``), percent-escapes of ASCII
characters (``%2e``, ``%2F``, ``%5C``, ``%41``: the normalised path must read exactly as it was sent), escapes
that are not valid UTF-8 (overlong forms, surrogates), and non-ASCII text that is not a plain letter, mark or
digit in NFKC form (fullwidth ``／``, ``∕``, zero-width and bidi characters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

#: Methods a rule may name; ``*`` stands for all of them.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Characters a literal rule segment may use (RFC 3986 pchar without ``%``, ``;`` and ``*``).
SEGMENT_CHARS = "A-Za-z0-9-._~!$&'()+,=:@"
#: Longer raw paths are refused outright: no real tenant endpoint comes near it.
MAX_PATH_BYTES = 2048

# Raw paths: "/" + one or more pchar (``;`` excluded) per segment. ASCII may only appear literally;
# percent-escapes are checked separately to decode to non-ASCII UTF-8 only.
_PCHAR = rb"A-Za-z0-9\-._~!$&'()*+,=:@"
_PLAIN_PATH = re.compile(rb"(?:/[" + _PCHAR + rb"]+)+")
_ENCODED_PATH = re.compile(rb"(?:/(?:[" + _PCHAR + rb"]|%[0-9A-Fa-f]{2})+)+")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_DOTS_ONLY = re.compile(r"(?:^|/)\.+(?:/|$)")
_SEGMENT_CLASS = r"A-Za-z0-9\-._~!$&'()+,=:@"
_LITERAL_SEGMENT = re.compile("[" + _SEGMENT_CLASS + "]+")
# What allows() re-checks on an already decoded path: defence in depth for callers that skip normalise_path.
_NORMAL_ASCII = re.compile("(?:/[" + _SEGMENT_CLASS + "*]+)+")
_ANY_METHOD = "*"


@dataclass(frozen=True)
class Rule:
    """One parsed rule, e.g. ``Rule("GET", ("UserMgmt", "*"))`` for ``GET /UserMgmt/*``."""

    method: str
    segments: tuple[str, ...]

    @property
    def is_exact(self) -> bool:
        return self.method != _ANY_METHOD and not any(s in ("*", "**") for s in self.segments)

    @property
    def path(self) -> str:
        return "/" + "/".join(self.segments)

    def pattern(self) -> str:
        """This rule as a regex over ``"METHOD /path"`` (the path already normalised)."""
        if self.method == _ANY_METHOD:
            method = "(?:" + "|".join(sorted(METHODS)) + ")"
        else:
            method = re.escape(self.method)
        parts = []
        for segment in self.segments:
            if segment == "*":
                parts.append("/[^/]+")
            elif segment == "**":
                parts.append("(?:/[^/]+)+")
            else:
                parts.append("/" + re.escape(segment))
        return method + " " + "".join(parts)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def parse_rule(text: str) -> Rule:
    """One ``METHOD /path`` item; ValueError with a one-line reason when it is not valid."""
    words = text.split()
    if not words:
        raise ValueError("empty rule (two commas in a row, or a trailing comma?)")
    if len(words) != 2:
        raise ValueError(f"rule {text.strip()!r} is not of the form 'METHOD /path'")
    method, path = words
    if method != _ANY_METHOD and method not in METHODS:
        raise ValueError(
            f"rule {text.strip()!r}: unknown method {method!r} (use one of {_method_list()} or *)"
        )
    if not path.startswith("/"):
        raise ValueError(f"rule {text.strip()!r}: the path must start with /")
    segments = tuple(path[1:].split("/"))
    for index, segment in enumerate(segments):
        if segment == "":
            raise ValueError(f"rule {text.strip()!r}: empty path segment (no //, no trailing /, no bare /)")
        if segment == "**":
            if index != len(segments) - 1:
                raise ValueError(f"rule {text.strip()!r}: ** may only be the last segment")
            continue
        if segment == "*":
            continue
        if "*" in segment:
            raise ValueError(f"rule {text.strip()!r}: a wildcard must be a whole segment (* or **)")
        if not _LITERAL_SEGMENT.fullmatch(segment):
            raise ValueError(
                f"rule {text.strip()!r}: segment {segment!r} has characters outside {SEGMENT_CHARS}"
            )
        if set(segment) == {"."}:
            raise ValueError(f"rule {text.strip()!r}: dot segments are not allowed")
    return Rule(method, segments)


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Parse ``BFF_PROXY_ALLOW``; ValueError (one line) for an empty list or any bad rule."""
    if not text.strip():
        raise ValueError("no rules given; e.g. 'POST /UPRest/GetUPData'")
    return tuple(parse_rule(item) for item in text.split(","))


def normalise_path(raw_path: bytes) -> str | None:
    """The decoded path (the part after ``/api`` of ``scope["raw_path"]``), or None when it is ambiguous."""
    if len(raw_path) > MAX_PATH_BYTES:
        return None
    if _PLAIN_PATH.fullmatch(raw_path):
        # Hot path: nothing percent-encoded, so the path is exactly what was sent.
        text = raw_path.decode("ascii")
    elif _ENCODED_PATH.fullmatch(raw_path):
        text_or_none = _decode_escapes(raw_path)
        if text_or_none is None:
            return None
        text = text_or_none
    else:
        return None
    if _DOTS_ONLY.search(text):
        return None
    return text


def _decode_escapes(raw_path: bytes) -> str | None:
    # An escaped ASCII byte is either an evasion (%2e, %2F, %5C, %00) or a needless spelling (%41) whose
    # decoded form differs from what was sent; both are refused. Only non-ASCII UTF-8 may be escaped.
    for match in _ESCAPE.finditer(raw_path):
        if int(match.group(1), 16) < 0x80:
            return None
    decoded = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw_path)
    try:
        # Strict UTF-8 refuses overlong forms (%C0%AE), surrogates (%ED%A0%80) and stray continuation bytes.
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if unicodedata.normalize("NFKC", text) != text:
        return (
            None  # fullwidth solidus, ligatures, decomposed accents: spelled differently from their meaning
        )
    for char in text:
        if char > "\x7f" and unicodedata.category(char)[0] not in "LMN":
            return None  # symbol and punctuation look-alikes (∕ ⁄ 。), spaces, zero-width and bidi controls
    return text


def _is_normal(path: str) -> bool:
    """True when ``path`` looks like something :func:`normalise_path` returns (re-checked cheaply)."""
    if path.isascii():
        ok = _NORMAL_ASCII.fullmatch(path) is not None
    else:
        ok = normalise_path(encode_path(path)) == path
    return ok and not _DOTS_ONLY.search(path)


def encode_path(path: str) -> bytes:
    """A normalised path spelled for the wire: non-ASCII as percent-encoded UTF-8, ASCII as is."""
    if path.isascii():
        return path.encode("ascii")
    return "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in path).encode(
        "ascii"
    )


@dataclass(frozen=True)
class AllowList:
    """Rules compiled once: ``AllowList.from_text("GET /UserMgmt/*").allows("GET", "/UserMgmt/x")``."""

    rules: tuple[Rule, ...]
    _exact: frozenset[str] = field(init=False, repr=False, compare=False)
    _wild: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    # (method, raw path) -> verdict. The rules never change and an SPA calls the same few paths over and
    # over, so each is judged once; bounded in entries and in key bytes, so a client sending endless new
    # (or long) paths only empties it. Only keys that could be allowed are kept: a known method and a path
    # within MAX_PATH_BYTES (longer ones are refused at once, and cost nothing to refuse again).
    _verdicts: dict[tuple[str, bytes], bool] = field(init=False, repr=False, compare=False)
    #: The bytes of the keys in ``_verdicts`` (method + raw path), kept under MAX_VERDICT_BYTES.
    _verdict_bytes: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact = frozenset(f"{r.method} {r.path}" for r in self.rules if r.is_exact)
        wild = [r.pattern() for r in self.rules if not r.is_exact]
        # One alternation for all wildcard rules: a single regex call per request, however many rules.
        compiled = re.compile("|".join(f"(?:{p})" for p in wild)) if wild else None
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_wild", compiled)
        object.__setattr__(self, "_verdicts", {})
        object.__setattr__(self, "_verdict_bytes", [0])

    @classmethod
    def from_text(cls, text: str) -> AllowList:
        return cls(parse_rules(text))

    def allows(self, method: str, path: str) -> bool:
        """True when ``(method, path)`` matches a rule; ``path`` as returned by :func:`normalise_path`."""
        if method not in METHODS or not _is_normal(path):
            return False
        key = f"{method} {path}"
        if key in self._exact:
            return True
        return self._wild is not None and self._wild.fullmatch(key) is not None

    def allows_raw(self, method: str, raw_path: bytes) -> bool:
        """Normalise ``raw_path`` (the raw bytes after ``/api``) and match it; ambiguous paths are refused."""
        key = (method, raw_path)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if method not in METHODS or len(raw_path) > MAX_PATH_BYTES:
                return False  # refused whatever the rules say: judged again for nothing, never remembered
            path = normalise_path(raw_path)
            verdict = path is not None and self.allows(method, path)
            size = len(method) + len(raw_path)
            total = self._verdict_bytes
            if len(self._verdicts) >= MAX_VERDICTS or total[0] + size > MAX_VERDICT_BYTES:
                self._verdicts.clear()
                total[0] = 0
            self._verdicts[key] = verdict
            total[0] += size
        return verdict


#: Verdicts an allow-list remembers (see AllowList._verdicts).
MAX_VERDICTS = 1024
#: Bytes of method and raw path those verdicts' keys may hold together: an SPA's few dozen paths fit many
#: times over, and MAX_VERDICTS paths of MAX_PATH_BYTES (2 MiB) do not.
MAX_VERDICT_BYTES = 256 * 1024


def _method_list() -> str:
    return ", ".join(sorted(METHODS))
