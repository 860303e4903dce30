"""The FastAPI side: ``/auth`` and the ops routes, one module per group of routes, none importing another.

``login`` (the API login's steps), ``oauth`` (the OAuth navigations and /auth/options), ``session`` (the
session, logout and the user's sessions), ``ops`` (health, metrics) and ``static`` (the SPA's files) are
mounted by :func:`app.main.create_app`; ``responses.error_response`` is the one JSON answer for every
:class:`~app.errors.BFFError`.
"""
