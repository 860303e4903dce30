"""The login tests that need a store run on the session tests' harness: one store per implementation."""

from __future__ import annotations

from tests.sessions.conftest import harness

__all__ = ["harness"]
