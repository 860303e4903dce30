"""The store tests run on the session tests' harness: one store per implementation, a clock to move."""

from __future__ import annotations

from tests.sessions.conftest import harness, user_factory

__all__ = ["harness", "user_factory"]
