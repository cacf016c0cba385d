"""Drive states as Reflex would: `state_on` builds a fresh state tree on a page, `run` runs an
event handler called directly, whatever its kind.

Handlers that touch the database or the network are `async` (they run that work in a worker
thread); pure ones stay plain. Calling either on a state gives a value, a coroutine, or a
(sync or async) generator; `run` turns each into what the handler produced.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import reflex as rx
from reflex.istate.data import RouterData
from reflex_base.constants import RouteVar

from tutor_app.core.settings import get_settings

ORIGIN = "http://localhost:3000"  # the dev APP_URL, for page URLs in tests

T = TypeVar("T", bound=rx.State)


def state_on(
    cls: type[T], url: str, *, cookie: str = "", route: str | None = None,
    origin: str | None = None, client_ip: str = "127.0.0.1",
) -> T:
    """A fresh state tree on page `url` (matched by `route`, default: the url's path), sent
    this Cookie header when given, from a page on `origin` (default: APP_URL's, as the app's
    own pages are), over a websocket from `client_ip`; the substate `cls`."""
    headers = {"origin": get_settings().app_origin if origin is None else origin}
    if cookie:
        headers["cookie"] = cookie
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({
        RouteVar.HEADERS: headers,
        RouteVar.PATH: route or urlsplit(url).path,
        RouteVar.ORIGIN: url,
        RouteVar.CLIENT_IP: client_ip,
    })
    return root.get_substate(cls.get_full_name().split("."))  # type: ignore[return-value]


def run(result: Any) -> Any:
    """A coroutine's return value; a generator's yielded events as a list (None left out);
    anything else as it is."""
    if inspect.iscoroutine(result):
        return asyncio.run(result)
    if isinstance(result, AsyncIterator):

        async def drain() -> list[Any]:
            return [event async for event in result if event is not None]

        return asyncio.run(drain())
    if isinstance(result, Iterator):
        return [event for event in result if event is not None]
    return result
