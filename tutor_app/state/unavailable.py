"""What a page shows when an event cannot run because a backing service is briefly down.

Reflex hands every exception raised while processing a page event to the app's
`backend_exception_handler`. With `REDIS_URL` set, a Redis outage means no event can load its
state; a PostgreSQL restart fails the event's query. Those (`core.outages.is_outage`) become a
toast saying the service is briefly unavailable, instead of Reflex's generic "An error
occurred"; the page works again by itself once the service is back. Anything else is a bug
and keeps Reflex's default handling (logged with its traceback, a generic message).
"""

import logging

import reflex as rx
from reflex.app import default_backend_exception_handler
from reflex.event import EventSpec

from tutor_app.core.outages import is_outage

log = logging.getLogger(__name__)

UNAVAILABLE_TITLE = "The service is briefly unavailable."
UNAVAILABLE_DETAIL = "Nothing was changed. Please try again in a moment."
UNAVAILABLE_TOAST_ID = "service-unavailable"


def backend_exception_handler(exception: Exception) -> EventSpec:
    """A "briefly unavailable" toast for outages, Reflex's default answer for anything else.

    No `from __future__ import annotations` here: Reflex checks this signature by evaluating
    its annotations in its own module.
    """
    if not is_outage(exception):
        return default_backend_exception_handler(exception)
    log.warning("page event failed, a backing service is down: %s: %s",
                type(exception).__name__, str(exception).strip().splitlines()[0][:200]
                if str(exception).strip() else "")
    return rx.toast.error(
        UNAVAILABLE_TITLE,
        description=UNAVAILABLE_DETAIL,
        id=UNAVAILABLE_TOAST_ID,
        position="top-center",
        duration=10_000,
        fallback_to_alert=True,
    )
