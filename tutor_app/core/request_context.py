"""The request id (and a few log fields) of the work in progress, in context variables.

One id follows a booking from the checkout click to the webhook and its follow-ups, so one
grep of the logs finds the whole chain: the API's middleware (`api.request_id`) sets it per
HTTP request, the wizard's checkout event sets a fresh one, checkout writes it into the Stripe
Checkout Session's metadata (`requestId`) and the webhook binds that id again while it handles
the paid session. Context variables follow `asyncio.to_thread`, Starlette's thread pool and
(`lesson_events`) the follow-ups' pool, so code below never passes the id by hand.

`log_setup` reads both variables into every log line.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# A client's own id is kept when it is this short and plain (no spaces, quotes or control
# characters that could forge a log line or a header); anything else gets a fresh id.
MAX_REQUEST_ID_LENGTH = 64
_VALID_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_REQUEST_ID_LENGTH}}}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_fields: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "log_fields", default=None
)


def new_request_id() -> str:
    """A fresh random id: 32 hex digits."""
    return uuid.uuid4().hex


def valid_request_id(value: object) -> str | None:
    """`value` when it is an acceptable request id (1 to 64 of `A-Z a-z 0-9 . _ : -`), else
    None."""
    if isinstance(value, str) and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    """The id of the request (or event, or webhook) this code runs for; None outside one."""
    return _request_id.get()


def current_fields() -> Mapping[str, str]:
    """The extra log fields bound for this code (e.g. `booking_id`)."""
    return _fields.get() or {}


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[str]:
    """Run the block under `request_id` (a fresh one when None or invalid); yields the id."""
    value = valid_request_id(request_id) or new_request_id()
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


@contextmanager
def bound_fields(**fields: str | None) -> Iterator[None]:
    """Add log fields (None values are skipped) for the block, over those already bound."""
    token = _fields.set({**current_fields(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)


def call_with_request_id(
    request_id: str | None, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """`fn(*args, **kwargs)` under `request_id` (a fresh one when None): for a UI event that
    starts a chain (the wizard's checkout), run in a thread with
    `asyncio.to_thread(call_with_request_id, new_request_id(), fn, ...)`, so the id cannot
    leak into the event loop's other work. The event logs its own lines with
    `extra={"request_id": ...}`."""
    with bound_request_id(request_id):
        return fn(*args, **kwargs)


def call_with_new_request_id(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`fn(*args, **kwargs)` under a fresh request id (see `call_with_request_id`)."""
    with bound_request_id(None):
        return fn(*args, **kwargs)
