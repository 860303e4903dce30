"""The FastAPI side: ``/auth`` and the ops routes (health), one module per group of routes.

``login`` (the API login's steps), ``oauth`` (the OAuth navigations and /auth/options), ``session`` (the
session, logout and the user's sessions) and ``ops`` are mounted by :func:`app.main.create_app`; no route
module imports another. :func:`error_response` is the one JSON answer for every :class:`~app.errors.BFFError`.
"""

from app.routes import login, oauth, ops, session
from app.routes.responses import error_response

__all__ = ["error_response", "login", "oauth", "ops", "session"]
