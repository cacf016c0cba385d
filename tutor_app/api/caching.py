"""Long-lived browser caching for the frontend's content-hashed bundles.

Vite names every file under `/assets/` after a hash of its content, so a file never changes
under its name. Without a Cache-Control header browsers guess freshness and revalidate the
wizard's thirty-odd modules on each visit; marking them immutable lets a returning student's
browser skip those round trips. Pages (HTML) are left alone so a deploy shows at once.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMMUTABLE = b"public, max-age=31536000, immutable"
HASHED_PREFIX = "/assets/"


def cache_hashed_assets(app: ASGIApp) -> ASGIApp:
    """Wrap the backend (the api_transformer hook) so hashed bundles are cached for a year."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(HASHED_PREFIX):
            await app(scope, receive, send)
            return

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"cache-control"]
                headers.append((b"cache-control", IMMUTABLE))
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_cache)

    return wrapped
