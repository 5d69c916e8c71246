"""Signing in to the web UI, the way Jupyter does it.

``heard-local serve`` makes a random token at every start, prints the UI's address with it
(``http://127.0.0.1:8000/?token=…``) and keeps it in ``server.json`` (readable only by its owner), from
which ``heard-local url`` prints it again. Opening that address sets a session cookie (HttpOnly,
SameSite=Strict, one per port) and goes on to the same page without the token. Every other UI request
(pages, assets, Gradio's API and queue, uploaded files, recordings, downloads, websockets) needs the
cookie; without it the answer is 401 with a short page saying how to get in.

The HTTP API (``/api/v1``, ``/v1``, its docs) is not the UI: it keeps its own ``X-API-Key`` check.
The cookie is ``<nonce>.<HMAC of the nonce keyed by the token>``, so it needs no server-side state and
stops working when the server restarts with a new token.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from heard_local.ui.security import API_PREFIXES

TOKEN_PARAMETER = "token"
_COOKIE_PREFIX = "heard_local_ui_"
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
_STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1e293b}"
          "h1{font-size:1.4rem}code{background:#f1f5f9;padding:.1rem .35rem;border-radius:.25rem}"
          ".hint{color:#64748b}")


def cookie_name(port: int) -> str:
    """Cookies are not kept apart by port, so two servers on one computer each get their own name."""
    return f"{_COOKIE_PREFIX}{port}"


def refusal_page(message: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>heard-local: sign in</title>"
        f"<style>{_STYLE}</style></head><body><h1>heard-local: sign in to the web UI</h1>"
        f"<p>{html.escape(message)}</p>"
        "<p>Open the address <code>heard-local serve</code> printed when it started "
        "(<code>http://…/?token=…</code>). Lost it? On the computer running heard-local, "
        "<code>heard-local url</code> prints it again.</p>"
        "<p class=hint>The HTTP API under <code>/api/v1</code> takes an API key instead "
        "(<code>heard-local keys create --name NAME</code>).</p></body></html>"
    )


def _continue_page(location: str) -> str:
    # An HTML redirect rather than a 303: a navigation our own page starts is same-site, so the
    # SameSite=Strict cookie is sent with it even when the sign-in link was opened from another site.
    target = html.escape(location, quote=True)
    return (
        '<!doctype html><html lang=en><head><meta charset=utf-8>'
        f'<meta http-equiv="refresh" content="0;url={target}"><title>heard-local</title>'
        f'<style>{_STYLE}</style></head><body><p>Signed in. '
        f'<a href="{target}">Continue to heard-local</a>.</p></body></html>'
    )


class UiSignIn:
    """ASGI middleware asking every UI request for the session cookie (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, token: str, port: int):
        if not token:
            raise ValueError("the web UI's sign-in needs a token")
        self.app = app
        self._key = token.encode()
        self.cookie = cookie_name(port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path", "").startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        offered = [value for name, value in query if name == TOKEN_PARAMETER]
        if offered and scope["type"] == "http":
            await self._sign_in(scope, receive, send, offered[-1], query)
            return
        if self.signed_in(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = HTMLResponse(refusal_page("This page needs you to sign in first."), status_code=401,
                                headers=_PAGE_HEADERS)
        await response(scope, receive, send)

    def session_value(self) -> str:
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._sign(nonce)}"

    def signed_in(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name != b"cookie":
                continue
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is simply not a session
                continue
            morsel = jar.get(self.cookie)
            if morsel is not None and self._valid(morsel.value):
                return True
        return False

    def _valid(self, value: str) -> bool:
        nonce, _, signature = value.partition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._sign(nonce))

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, f"heard-local-ui-session:{nonce}".encode(), hashlib.sha256).hexdigest()

    async def _sign_in(self, scope: Scope, receive: Receive, send: Send, offered: str,
                       query: list[tuple[str, str]]) -> None:
        if not hmac.compare_digest(offered.encode(), self._key):
            response = HTMLResponse(refusal_page("The token in this address is not the current one (heard-local "
                                                 "makes a new one each time it starts)."),
                                    status_code=401, headers=_PAGE_HEADERS)
            await response(scope, receive, send)
            return
        rest = urlencode([(name, value) for name, value in query if name != TOKEN_PARAMETER])
        path = "/" + scope.get("path", "/").lstrip("/")  # never "//host": the page stays on this server
        location = scope.get("root_path", "") + path + (f"?{rest}" if rest else "")
        response = HTMLResponse(_continue_page(location), headers=_PAGE_HEADERS)
        response.set_cookie(self.cookie, self.session_value(), httponly=True, samesite="strict", path="/",
                            secure=scope.get("scheme") == "https")
        await response(scope, receive, send)
