"""The keyed names the keyring gives: fixed-size hex, stable per secret, useless without the secret."""

from __future__ import annotations

import hashlib
import re

from app.sessions.keyring import Keyring

SECRET = b"k" * 32
SESSION_ID = bytes(range(32))


def test_names_are_fixed_size_hex_and_stable() -> None:
    keyring = Keyring([SECRET])
    assert re.fullmatch(r"[0-9a-f]{16}", keyring.log_id(SESSION_ID))
    assert re.fullmatch(r"[0-9a-f]{32}", keyring.public_id(SESSION_ID))
    assert re.fullmatch(r"[0-9a-f]{32}", keyring.bucket("203.0.113.7"))
    again = Keyring([SECRET])
    assert again.log_id(SESSION_ID) == keyring.log_id(SESSION_ID)
    assert again.public_id(SESSION_ID) == keyring.public_id(SESSION_ID)
    assert again.bucket("203.0.113.7") == keyring.bucket("203.0.113.7")


def test_each_purpose_has_its_own_key() -> None:
    keyring = Keyring([SECRET])
    # Same input, three purposes: no name can be matched against another kind of name.
    names = {keyring.log_id(SESSION_ID), keyring.public_id(SESSION_ID)[:16], keyring.bucket("x")[:16]}
    assert len(names) == 3
    assert keyring.public_id(SESSION_ID)[:16] != keyring.log_id(SESSION_ID)


def test_names_depend_on_the_secret_and_hide_the_input() -> None:
    ours, theirs = Keyring([SECRET]), Keyring([b"q" * 32])
    assert ours.log_id(SESSION_ID) != theirs.log_id(SESSION_ID)
    assert ours.public_id(SESSION_ID) != theirs.public_id(SESSION_ID)
    assert ours.bucket("alice") != theirs.bucket("alice")
    # Not an unkeyed hash of the id or of the value (which anyone holding the id could recompute).
    for unkeyed in (hashlib.sha256, hashlib.blake2b):
        assert unkeyed(SESSION_ID).hexdigest()[:16] != ours.log_id(SESSION_ID)
        assert unkeyed(b"alice").hexdigest()[:32] != ours.bucket("alice")
    assert SESSION_ID.hex()[:16] != ours.log_id(SESSION_ID)


def test_the_first_secret_names_everything() -> None:
    # Rotation: a second (older) secret is accepted for reading, but names come from the current one.
    rotated = Keyring([SECRET, b"old" * 11])
    assert rotated.log_id(SESSION_ID) == Keyring([SECRET]).log_id(SESSION_ID)
    assert rotated.public_id(SESSION_ID) == Keyring([SECRET]).public_id(SESSION_ID)
