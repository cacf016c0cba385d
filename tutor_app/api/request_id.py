"""Every HTTP request gets a request id: the client's `X-Request-Id` when it is a plain short
token (`request_context.valid_request_id`), else a fresh one. It is bound for the request's
handling, so every log line the request causes carries it (core.log_setup), and echoed in the
answer's `X-Request-Id` header, so a client (or a support person) can quote it.

Applied once, as the outermost middleware of `build_api()`, so it also covers the pages and
anything else the backend serves over HTTP; websocket traffic has no headers to answer with
and is passed through.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutor_app.core import request_context

HEADER = "x-request-id"


def _header(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == HEADER.encode():
            return str(value.decode("latin-1"))
    return None


class RequestIdMiddleware:
    """Bind (and echo) the request id of each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_context.bound_request_id(_header(scope)) as request_id:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    MutableHeaders(scope=message)[HEADER] = request_id
                await send(message)

            await self.app(scope, receive, send_with_id)
