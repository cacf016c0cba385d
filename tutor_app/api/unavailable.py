"""503 instead of 500 while the database (or Redis) is briefly down, for every HTTP answer.

An ASGI middleware around everything `build_api()` serves: when a route raises an error that
`core.outages.is_outage` recognises (PostgreSQL restarting, a dropped connection, no pooled
connection in time) before it started its answer, the client gets
`503 {"error": "temporarily unavailable"}` with `Retry-After`, never a 500 or a traceback. The
error is logged in one line; the engine's `pool_pre_ping` (`core.db`) replaces the dead
connections, so the app recovers by itself once the database is back. Any other exception
goes on unchanged (a bug: 500, traceback in the log only).
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tutor_app.api.errors import UNAVAILABLE, error_json
from tutor_app.core.outages import RETRY_AFTER_SECONDS, is_outage

log = logging.getLogger(__name__)


class UnavailableMiddleware:
    """Turn an outage error raised before the answer started into a 503 (HTTP only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not is_outage(exc):
                raise
            log.warning("%s %s: service unavailable (%s: %s)", scope.get("method"),
                        scope.get("path"), type(exc).__name__, _first_line(exc))
            response = error_json(503, UNAVAILABLE)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            await response(scope, receive, send)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
