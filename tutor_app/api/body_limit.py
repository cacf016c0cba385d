"""A ceiling on request bodies under /api, so no route reads an unbounded body into memory;
and on Reflex's upload route, `/_upload` (the tutor's photo), which would otherwise spool any
size of file to disk before the page's handler could refuse it.

Applied once, as middleware of the app `build_api()` returns. A declared Content-Length over
the limit is refused before the route runs; a body without one (chunked) is counted as it
streams, and reading stops at the first chunk past the limit. Either way the answer is a 413
with a short JSON error, whatever the route would have answered.
"""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutor_app.api.errors import error_json
from tutor_app.tutors import media

API_PREFIX = "/api/"
MAX_BODY_BYTES = 64 * 1024  # JSON and form routes: a few hundred bytes in practice
MAX_WEBHOOK_BODY_BYTES = 256 * 1024  # Stripe events are a few KB
WEBHOOK_PATH = "/api/stripe/webhook"
UPLOAD_PATH = "/_upload"  # Reflex's own upload endpoint (rx.upload posts files there)
# A photo of at most 5 MB and its multipart wrapping (the event's token, the file's headers).
MAX_UPLOAD_BODY_BYTES = media.MAX_PHOTO_BYTES + 64 * 1024
TOO_LARGE = "request body too large"


class BodyTooLarge(Exception):
    """Raised from `receive` once a streamed body passes the limit: the route stops reading."""


def body_limit_for(path: str) -> int | None:
    """The byte limit for a request to `path`, or None outside the API and the upload route."""
    if path == WEBHOOK_PATH:
        return MAX_WEBHOOK_BODY_BYTES
    if path == UPLOAD_PATH:
        return MAX_UPLOAD_BODY_BYTES
    if path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
        return MAX_BODY_BYTES
    return None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """ASGI middleware answering 413 to any /api or upload request whose body passes its
    limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await error_json(413, TOO_LARGE)(scope, receive, send)
            return

        received = 0
        too_large = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:  # the route's own answer to a cut-off body is replaced by the 413
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, counted_receive, guarded_send)
        if too_large and not started:
            await error_json(413, TOO_LARGE)(scope, receive, send)
