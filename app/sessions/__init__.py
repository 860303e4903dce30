"""Sessions: signed tickets, encrypted records, and the stores that keep them (Redis; memory in development).

Example::

    store = open_store(settings)
    sessions = SessionService.from_settings(store, settings)
    logins = PreAuthStore(store, settings.signing_secrets(), login_timeout=settings.bff_login_timeout)
"""

from app.sessions.factory import open_store
from app.sessions.keyring import Keyring
from app.sessions.pre_auth import PreAuthStore
from app.sessions.records import Session
from app.sessions.service import SessionService
from app.sessions.store import Store

__all__ = [
    "Keyring",
    "PreAuthStore",
    "Session",
    "SessionService",
    "Store",
    "open_store",
]
