"""The FastAPI side: ``/auth`` (login steps, session, logout, sessions) and the ops routes (health).

``auth.router`` and ``ops.router`` are mounted by :func:`app.main.create_app`; :func:`error_response` is the
one JSON answer for every :class:`~app.errors.BFFError`.
"""

from app.routes import auth, ops
from app.routes.responses import error_response

__all__ = ["auth", "error_response", "ops"]
