"""The SPA's files (``BFF_STATIC_DIR``, mounted at ``/``): answered as asked, never redirected.

Example::

    app.mount("/", StaticHeaders(SpaFiles(directory="web", html=True)))

Starlette's ``StaticFiles`` redirects a directory path to its spelling with a trailing slash, building the
``Location`` from the ``Host`` header (which anyone can set): here a directory is served its ``index.html``
only when asked with the slash, and is ``404`` otherwise. Paths of the BFF's own (``/auth``, ``/api``,
``/.well-known``) are never the SPA's: a file the folder happens to hold there is not served, and the answer
is the JSON ``404 not_found`` the BFF gives for any unknown route.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

#: Path prefixes the SPA never answers.
RESERVED = ("/auth", "/api", "/.well-known")


class SpaFiles(StaticFiles):
    """``StaticFiles`` without redirects and without the BFF's own paths."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        asked: str = scope["path"]
        if any(asked == prefix or asked.startswith(prefix + "/") for prefix in RESERVED):
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        if isinstance(response, RedirectResponse):
            raise HTTPException(status_code=404)
        return response
