"""The signed ticket: round trip, tampering, rotation and purpose separation (hypothesis properties)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time

from hypothesis import example, given, settings
from hypothesis import strategies as st
from itsdangerous import Signer
from itsdangerous.encoding import base64_decode, base64_encode

from app.sessions.service import SessionService
from app.sessions.ticket import ID_BYTES, KEY_BYTES, Ticket, TicketCodec, _canonical_b64
from app.store.memory_store import MemoryStore

NEW = b"n" * 40
OLD = b"o" * 40
STRANGER = b"x" * 40

SESSION = TicketCodec([NEW, OLD], "session")
COOKIE = SESSION.dump(Ticket.new(expires_at=time.time() + 3600))
# Cookie text is ASCII; tampering uses the characters a browser or an attacker could put there.
COOKIE_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The last character of a 32-byte signature carries 2 unused bits: this twin decodes to the same bytes.
SPARE_BIT_TWIN = _B64[_B64.index(COOKIE[-1]) ^ 1]

tickets = st.builds(
    Ticket,
    id=st.binary(min_size=ID_BYTES, max_size=ID_BYTES),
    key=st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES),
    expires_at=st.integers(min_value=0, max_value=2**40).map(lambda ms: ms / 1000),
)


@given(tickets)
def test_round_trip(ticket: Ticket) -> None:
    assert SESSION.load(SESSION.dump(ticket)) == ticket


def test_signature_is_hmac_sha256_over_the_payload() -> None:
    payload, sig = COOKIE.rsplit(".", 1)
    key = hmac.new(NEW, b"bff.session.v1", hashlib.sha256).digest()
    expected = base64_encode(hmac.new(key, payload.encode(), hashlib.sha256).digest()).decode()
    assert sig == expected  # 43 characters: a SHA-256 tag, not itsdangerous' SHA-1 default (27)


def test_new_tickets_are_random() -> None:
    a, b = Ticket.new(expires_at=1.0), Ticket.new(expires_at=1.0)
    assert a.id != b.id and a.key != b.key and len(a.id) == ID_BYTES and len(a.key) == KEY_BYTES


@given(st.integers(min_value=0), COOKIE_CHARS)
@example(position=len(COOKIE) - 1, char=SPARE_BIT_TWIN)
def test_any_changed_character_is_refused(position: int, char: str) -> None:
    position %= len(COOKIE)
    tampered = COOKIE[:position] + char + COOKIE[position + 1 :]
    if tampered != COOKIE:
        assert SESSION.load(tampered) is None


@given(st.integers(min_value=0, max_value=len(COOKIE) - 1))
def test_truncated_is_refused(length: int) -> None:
    assert SESSION.load(COOKIE[:length]) is None


@given(st.text(COOKIE_CHARS, min_size=1, max_size=50))
@example("=")
@example("A")
def test_appended_is_refused(suffix: str) -> None:
    assert SESSION.load(COOKIE + suffix) is None


@given(st.integers(min_value=0), st.text(COOKIE_CHARS, min_size=1, max_size=5))
def test_inserted_is_refused(position: int, text: str) -> None:
    position %= len(COOKIE) + 1
    assert SESSION.load(COOKIE[:position] + text + COOKIE[position:]) is None


@given(tickets, st.binary(min_size=1, max_size=64))
def test_signed_by_an_unknown_key_is_refused(ticket: Ticket, key: bytes) -> None:
    forged = TicketCodec([key], "session").dump(ticket)
    if key not in (NEW, OLD):
        assert SESSION.load(forged) is None


def test_signed_with_sha1_or_other_salt_is_refused() -> None:
    payload = COOKIE.rsplit(".", 1)[0]
    for signer in (
        Signer(NEW, salt=b"bff.session.v1"),  # itsdangerous' defaults: SHA-1, django-concat
        Signer(NEW, salt=b"other", key_derivation="hmac", digest_method=hashlib.sha256),
    ):
        assert SESSION.load(signer.sign(payload).decode()) is None


@given(st.text(max_size=300))
def test_random_text_is_refused(text: str) -> None:
    assert SESSION.load(text) is None


@given(st.binary(max_size=300))
def test_random_bytes_as_latin1_are_refused(raw: bytes) -> None:
    assert SESSION.load(raw.decode("latin-1")) is None


@settings(max_examples=50)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.integers(min_value=0, max_value=len(COOKIE) - 1).map(lambda n: COOKIE[:n]),
        st.text(COOKIE_CHARS, min_size=1, max_size=8).map(lambda s: COOKIE + s),
    )
)
def test_service_load_of_garbage_is_none_never_an_error(cookie: str) -> None:
    async def run() -> None:
        service = SessionService(MemoryStore(), [NEW, OLD], idle_timeout=60, max_lifetime=600)
        real, _ = await service.create(bearer="b", user={"id": "u"}, user_agent="", ip="")
        assert await service.load(real) is not None
        assert await service.load(cookie) is None
        assert await service.load(cookie, slide=False) is None

    asyncio.run(run())


def test_rotation_old_key_verifies_until_removed() -> None:
    ticket = Ticket.new(expires_at=time.time() + 60)
    old_cookie = TicketCodec([OLD], "session").dump(ticket)
    assert TicketCodec([NEW, OLD], "session").load(old_cookie) == ticket
    assert TicketCodec([NEW], "session").load(old_cookie) is None


def test_rotation_first_key_signs() -> None:
    ticket = Ticket.new(expires_at=time.time() + 60)
    cookie = TicketCodec([NEW, OLD], "session").dump(ticket)
    assert TicketCodec([NEW], "session").load(cookie) == ticket
    assert TicketCodec([OLD], "session").load(cookie) is None


def test_session_and_login_tickets_do_not_cross() -> None:
    ticket = Ticket.new(expires_at=time.time() + 60)
    login = TicketCodec([NEW], "login")
    assert login.load(SESSION.dump(ticket)) is None
    assert SESSION.load(login.dump(ticket)) is None
    assert login.load(login.dump(ticket)) == ticket


@given(st.binary(max_size=80))
def test_canonical_shape_accepts_exactly_the_encoders_spelling(data: bytes) -> None:
    shape = re.compile(_canonical_b64(len(data)))
    spelled = base64_encode(data).decode()
    assert shape.fullmatch(spelled)
    assert base64_decode(spelled) == data
    # Every other last character either decodes to other bytes or is a spare-bit twin: none may pass.
    for char in _B64:
        other = spelled[:-1] + char if spelled else char
        if other != spelled:
            assert shape.fullmatch(other) is None or base64_decode(other) != data
    assert shape.fullmatch(spelled + "A") is None
    if spelled:
        assert shape.fullmatch(spelled[:-1]) is None
