"""The key-value store: the protocol (``protocol.Store``), Redis in any mode, a tracked local copy, memory.

It knows nothing of what its keys hold: sessions, rate limits and locks stand on it. Example::

    store = open_store(settings, cached=RECORD_KEYS)   # app.store.factory; the prefix app.sessions keeps
"""
