"""Session records and index entries at rest: round trips, and None (never an exception) for anything else."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.identity.models import User
from app.sessions.records import IndexEntry, Record

RECORD = Record(
    public_id="a" * 32,
    bearer="token-\u00e9\u2603",
    user=User(id="u1", username="demo@example.com", display_name='Dé "mo"'),
    created_at=1.5,
    last_seen_at=2.25,
    expires_at=3.0,
    user_agent="Mozilla/5.0",
    ip="203.0.113.7",
)
ENTRY = IndexEntry(ref="s:ab", created_at=1.0, last_seen_at=2.0, expires_at=3.0, user_agent="ua", ip="::1")


def test_round_trips() -> None:
    assert Record.decode(RECORD.encode()) == RECORD
    assert IndexEntry.decode(ENTRY.encode()) == ENTRY


def test_trailing_bytes_wrong_versions_and_missing_fields_are_none() -> None:
    assert Record.decode(RECORD.encode() + b" {}") is None
    assert Record.decode(RECORD.encode().replace(b'"v":1', b'"v":2')) is None
    assert Record.decode(b'{"v":1}') is None
    assert IndexEntry.decode(ENTRY.encode() + b"x") is None
    assert IndexEntry.decode(b'{"v":1,"ref":"s:ab"}') is None
    assert Record.decode(b"\xff" + RECORD.encode()) is None  # not UTF-8


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_none_or_a_record(raw: bytes) -> None:
    assert Record.decode(raw) is None or isinstance(Record.decode(raw), Record)
    assert IndexEntry.decode(raw) is None or isinstance(IndexEntry.decode(raw), IndexEntry)


@given(st.text(max_size=40))
def test_any_text_decodes_to_none_or_a_record(text: str) -> None:
    raw = text.encode()
    assert Record.decode(raw) is None or isinstance(Record.decode(raw), Record)


def test_the_tenant_host_is_kept_and_records_written_before_it_still_load() -> None:
    with_host = Record(
        **{**{f: getattr(RECORD, f) for f in Record.__slots__}, "tenant_url": "https://pod.example"}
    )
    assert Record.decode(with_host.encode()) == with_host
    assert b'"host":"https://pod.example"' in with_host.encode()
    # Exactly what the BFF wrote before sessions kept their host: it loads, and names no host.
    before = (
        b'{"v":1,"pid":"' + b"a" * 32 + b'","bearer":"t","user":{"id":"u1","username":"x"},"created":1.5,'
        b'"seen":2.25,"exp":3.0,"ua":"Mozilla/5.0","ip":"203.0.113.7"}'
    )
    old = Record.decode(before)
    assert old is not None and old.tenant_url is None and old.bearer == "t"
    assert Record.decode(before.replace(b'"v":1', b'"v":1,"host":5')) is None


def test_the_user_is_kept_at_rest_as_its_set_fields_and_read_back_typed() -> None:
    # The same JSON the records held when the user was a dict of the set fields: sessions made before load.
    assert json.loads(RECORD.encode())["user"] == {
        "id": "u1",
        "username": "demo@example.com",
        "display_name": 'Dé "mo"',
    }
    stored = b'{"id":"u1","username":"x","email":"x@example.com","tenant":"pod.example"}'
    raw = RECORD.encode().replace(json.dumps(RECORD.user.to_dict(), separators=(",", ":")).encode(), stored)
    loaded = Record.decode(raw)
    assert loaded is not None
    assert loaded.user == User(id="u1", username="x", email="x@example.com", tenant="pod.example")
    # A user without an id or a name, or that is no object, is no record (never an exception).
    for user in (b'{"id":"u1"}', b'{"username":"x"}', b"[]", b'"u1"'):
        assert Record.decode(raw.replace(stored, user)) is None
