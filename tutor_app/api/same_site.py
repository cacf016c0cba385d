"""The one same-site check for every state-changing API route.

The session cookie is SameSite=Lax, so a cross-site POST does not carry it; this check also
stops what Lax does not: another site signing a visitor in to an account of its choosing
(login CSRF), forcing a sign-out or a calendar disconnect, or posting a form to a route that
reads its own credentials. A browser names the page a request comes from in `Origin` (and
`Sec-Fetch-Site`); clients that send no Origin (curl, servers) are not browsers and pass.

Routes opt in with `@same_site_only`; `tests/api` checks that every POST route does, except
the Stripe webhook (server to server, authenticated by its signature).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import cast, overload
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tutor_app.core.settings import get_settings

NO_STORE = {"Cache-Control": "no-store"}
MARKER = "same_site_only"

SyncEndpoint = Callable[[Request], Response]
AsyncEndpoint = Callable[[Request], Awaitable[Response]]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_same_site(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    Allowed origins: APP_URL's, and the one the request was addressed to. An opaque origin
    ("null": sandboxed frames, some redirects) is another site too.
    """
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    allowed = {_origin(get_settings().app_url), f"{request.url.scheme}://{request.url.netloc}"}
    return origin in allowed


def cross_site_refused() -> JSONResponse:
    return JSONResponse({"error": "cross-site request refused"}, 403, headers=NO_STORE)


@overload
def same_site_only(endpoint: AsyncEndpoint) -> AsyncEndpoint: ...
@overload
def same_site_only(endpoint: SyncEndpoint) -> SyncEndpoint: ...
def same_site_only(endpoint: SyncEndpoint | AsyncEndpoint) -> SyncEndpoint | AsyncEndpoint:
    """Wrap a route endpoint (sync or async, kept so) to answer 403 to cross-site requests."""
    if inspect.iscoroutinefunction(endpoint):
        async_endpoint = cast(AsyncEndpoint, endpoint)

        @functools.wraps(async_endpoint)
        async def guarded_async(request: Request) -> Response:
            if not is_same_site(request):
                return cross_site_refused()
            return await async_endpoint(request)

        setattr(guarded_async, MARKER, True)
        return guarded_async

    sync_endpoint = cast(SyncEndpoint, endpoint)

    @functools.wraps(sync_endpoint)
    def guarded(request: Request) -> Response:
        if not is_same_site(request):
            return cross_site_refused()
        return sync_endpoint(request)

    setattr(guarded, MARKER, True)
    return guarded


def is_guarded(endpoint: object) -> bool:
    """Whether a route endpoint went through `same_site_only`."""
    return bool(getattr(endpoint, MARKER, False))
