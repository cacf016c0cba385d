"""Security headers on every answer the backend gives: pages, static files and the API.

Applied as the last api_transformer (tutor_app.py), so it wraps everything the single-port
server answers, including the compiled frontend Reflex mounts inside the backend app. The
Content-Security-Policy only forbids framing: the Reflex frontend relies on inline scripts.
HSTS is sent only when the app is served over https (`APP_URL`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutor_app.core.settings import get_settings

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def _headers_to_add() -> tuple[tuple[bytes, bytes], ...]:
    if get_settings().secure_cookies:  # APP_URL is https
        return (*SECURITY_HEADERS, HSTS)
    return SECURITY_HEADERS


def security_headers(app: ASGIApp) -> ASGIApp:
    """Wrap the backend (an api_transformer) so every HTTP answer carries the headers."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        added = _headers_to_add()
        names = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in names]
                headers.extend(added)
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
