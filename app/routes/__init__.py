"""The FastAPI side: ``/auth`` (login steps, OAuth navigations, session, logout, sessions) and the ops routes.

Each module's ``router`` is mounted by :func:`app.main.create_app`; ``responses.error_response`` is the one
JSON answer for every :class:`~app.errors.BFFError`.
"""
