"""The tenant's minimal sign-in pages for the OAuth authorize step: password, then one MFA code.

Both forms POST to ``/OAuth2/SignIn/{app}`` with the hidden ``txn`` and ``action`` (``signin``, ``verify`` or
``cancel``); tests may post those fields directly (the ``X-Sim-Txn`` response header carries ``txn``).
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}"
    "label,input,button{display:block;width:100%;margin:.4rem 0}button{padding:.5rem}"
    ".error{color:#b00020}"
)
_FAILED = (
    "Authentication (login or challenge) has failed. Please try again or contact your system administrator."
)


def _page(title: str, body: str, status: int = 200, txn: str | None = None) -> HTMLResponse:
    html = (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width'><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    if txn is not None:
        headers["X-Sim-Txn"] = txn
    return HTMLResponse(html, status_code=status, headers=headers)


def _error(failed: bool) -> str:
    return f"<p class='error' role='alert'>{escape(_FAILED)}</p>" if failed else ""


def sign_in_page(app_id: str, txn: str, failed: bool = False, username: str = "") -> HTMLResponse:
    """Step one: username and password."""
    body = (
        f"{_error(failed)}<form method='post' action='/OAuth2/SignIn/{escape(app_id)}'>"
        f"<input type='hidden' name='txn' value='{escape(txn)}'>"
        f"<label for='username'>User name</label>"
        f"<input id='username' name='username' autocomplete='username' required value='{escape(username)}'>"
        "<label for='password'>Password</label>"
        "<input id='password' name='password' type='password' autocomplete='current-password' required>"
        "<button type='submit' name='action' value='signin'>Sign in</button>"
        "<button type='submit' name='action' value='cancel' formnovalidate>Cancel</button></form>"
    )
    return _page("Sign in to CyberArk Identity (simulator)", body, txn=txn)


def code_page(app_id: str, txn: str, mechanism: str, prompt: str, failed: bool = False) -> HTMLResponse:
    """Step two: the code of the user's first MFA mechanism (``mechanism`` names it for the page's reader)."""
    body = (
        f"{_error(failed)}<form method='post' action='/OAuth2/SignIn/{escape(app_id)}'>"
        f"<input type='hidden' name='txn' value='{escape(txn)}'>"
        f"<p id='prompt' data-mechanism='{escape(mechanism)}'>{escape(prompt)}</p>"
        "<label for='code'>Code</label>"
        "<input id='code' name='code' autocomplete='one-time-code' required>"
        "<button type='submit' name='action' value='verify'>Verify</button>"
        "<button type='submit' name='action' value='cancel' formnovalidate>Cancel</button></form>"
    )
    return _page("Verify it is you", body, txn=txn)


def message_page(title: str, text: str, status: int) -> HTMLResponse:
    """An error or information page (bad client or redirect_uri, expired sign-in, signed out)."""
    return _page(title, f"<p>{escape(text)}</p>", status=status)
