"""Run a state's event handler called directly, whatever its kind, as Reflex would.

Handlers that touch the database or the network are `async` (they run that work in a worker
thread); pure ones stay plain. Calling either on a state gives a value, a coroutine, or a
(sync or async) generator; `run` turns each into what the handler produced.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any


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
