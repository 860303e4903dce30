"""Sessions: signed tickets, encrypted records, pre-auth state and the refresh lock, kept in a store.

Example::

    store = open_store(settings)                                          # app.store.factory
    sessions = SessionService.from_settings(store, settings)              # app.sessions.service
    logins = PreAuthStore(store, settings.signing_secrets(), login_timeout=settings.bff_login_timeout)
"""
