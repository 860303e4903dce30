"""Sessions: signed tickets, encrypted records, and the stores that keep them (Redis; memory in development).

Example::

    store = open_store(settings)
    sessions = SessionService.from_settings(store, settings)
    logins = LoginStateService.from_settings(store, settings)
"""

from app.sessions.factory import open_store
from app.sessions.keyring import Keyring
from app.sessions.login_state import LoginStateService
from app.sessions.memory_store import MemoryStore
from app.sessions.records import Session, SessionInfo
from app.sessions.redis_store import RedisStore
from app.sessions.service import SessionService
from app.sessions.store import Store
from app.sessions.ticket import Ticket, TicketCodec

__all__ = [
    "Keyring",
    "LoginStateService",
    "MemoryStore",
    "RedisStore",
    "Session",
    "SessionInfo",
    "SessionService",
    "Store",
    "Ticket",
    "TicketCodec",
    "open_store",
]
