"""Every page load gives the browser its pre-sign-in cookie (`accounts.pre_sign_in`).

The sign-in forms run over Reflex's websocket, which cannot set cookies; they read the cookie
from the websocket's handshake, so it must already be there when the page's websocket opens:
the HTML page that opens it is the answer to set it on. A page load of a browser that has
the cookie sets it again with the same value, so it lasts two hours from the latest load.

Applied as an api_transformer (tutor_app.py) next to `security_headers`, so it sees every page
the single-port server answers. A page is an HTML answer, or a 304 to a navigation (the
browser revalidating a page it cached): either way a page is about to open its websocket.
A response that sets the cookie itself (the OpenID login route) is left as it is. An answer
carrying the cookie is marked `private`, so no shared cache hands one visitor's value to the
next.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutor_app.accounts import pre_sign_in

_PAGE_METHODS = frozenset({"GET", "HEAD"})


def _set_cookie_header(value: str) -> tuple[bytes, bytes]:
    """The Set-Cookie header Starlette writes for the cookie's attributes (one home for them:
    `pre_sign_in.pre_sign_in_cookie`)."""
    response = Response()
    response.set_cookie(**pre_sign_in.pre_sign_in_cookie(value))
    (header,) = [(k, v) for k, v in response.raw_headers if k == b"set-cookie"]
    return header


def _is_page(message: Message, *, navigation: bool) -> bool:
    headers = Headers(raw=message.get("headers", []))
    html = headers.get("content-type", "").lower().startswith("text/html")
    return html or (navigation and message["status"] == 304)


def _sets_cookie(message: Message, name: str) -> bool:
    prefix = name.encode("latin-1") + b"="
    return any(k.lower() == b"set-cookie" and v.startswith(prefix)
               for k, v in message.get("headers", []))


def _private(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with `private` in Cache-Control (added when there is none)."""
    found = [v for k, v in headers if k.lower() == b"cache-control"]
    if any(b"private" in v or b"no-store" in v for v in found):
        return headers
    kept = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
    return [*kept, (b"cache-control", b", ".join([b"private", *found]))]


def pre_sign_in_cookie(app: ASGIApp) -> ASGIApp:
    """Wrap the backend (an api_transformer) so page answers set the pre-sign-in cookie."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _PAGE_METHODS:
            await app(scope, receive, send)
            return
        request = Headers(scope=scope)
        navigation = "text/html" in request.get("accept", "")
        current = pre_sign_in.from_cookie_header(request.get("cookie"))
        name = pre_sign_in.pre_sign_in_cookie_name()

        async def send_with_cookie(message: Message) -> None:
            if (message["type"] == "http.response.start"
                    and _is_page(message, navigation=navigation)
                    and not _sets_cookie(message, name)):
                cookie = _set_cookie_header(current or pre_sign_in.new_value())
                headers = _private([*message.get("headers", []), cookie])
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_cookie)

    return wrapped
