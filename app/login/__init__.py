"""The login flows: the tenant's API login steps (``flow``, ``steps``) and the OAuth code flow (``oauth``)."""
