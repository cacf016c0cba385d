"""The HTTP API mounted on Reflex's backend (`rx.App(api_transformer=build_api())`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from tutor_app.api import (
    admin_bookings,
    auth,
    bookings,
    calendar,
    dev,
    health,
    ics,
    media,
    metrics,
    stripe,
    tutor,
)
from tutor_app.api.body_limit import BodyLimitMiddleware
from tutor_app.api.request_id import RequestIdMiddleware
from tutor_app.api.unavailable import UnavailableMiddleware


def api_routes() -> list[BaseRoute]:
    """Every /api route, and /media (stored photos); each module holds the routes of one
    resource (`dev`: those of a developer's own machine only)."""
    return [*auth.routes, *health.routes, *stripe.routes, *ics.routes, *calendar.routes,
            *bookings.routes, *media.routes, *tutor.routes, *admin_bookings.routes,
            *metrics.routes, *dev.routes]


def build_api() -> Starlette:
    """A Starlette app with every route; also served on its own by the API tests.

    Every HTTP request gets its request id bound and echoed first (`api.request_id`), so the
    answers below carry it too; a database or Redis outage raised by any route answers 503
    with Retry-After (`api.unavailable`); every request under /api passes the body-size limit
    (`api.body_limit`).
    """
    return Starlette(routes=api_routes(), middleware=[
        Middleware(RequestIdMiddleware), Middleware(UnavailableMiddleware),
        Middleware(BodyLimitMiddleware),
    ])
