"""The Reflex app: pages from tutor_app.pages, the HTTP API from tutor_app.api."""

from __future__ import annotations

import reflex as rx

from tutor_app import pages, wiring  # noqa: F401  (pages: registers the @rx.page pages)
from tutor_app.api import build_api
from tutor_app.api.caching import cache_hashed_assets
from tutor_app.api.pre_sign_in_cookie import pre_sign_in_cookie
from tutor_app.api.security_headers import security_headers
from tutor_app.booking.signals import relay_booked_signals
from tutor_app.core import log_setup, metrics
from tutor_app.core.jobs import periodic_jobs
from tutor_app.core.settings import get_settings
from tutor_app.state.unavailable import backend_exception_handler
from tutor_app.state.viewer_zone import tz_cookie_script

get_settings()  # fail fast, naming what is missing, before serving anything
log_setup.configure_logging()  # JSON lines (prod) or text, with the request id (LOG_FORMAT)
wiring.register_all()  # emails and calendar sync after booking changes; the periodic jobs

app = rx.App(
    theme=rx.theme(accent_color="indigo", radius="large"),
    # Every page writes the browser's zone to the `tz` cookie before the websocket connects,
    # so each page's first event already knows the viewer's zone (state/viewer_zone.py).
    head_components=[tz_cookie_script()],
    # The last two wrap everything served, the compiled pages included (single-port prod):
    # pages set the pre-sign-in cookie the sign-in forms are bound to; every answer gets the
    # security headers.
    api_transformer=[build_api(), cache_hashed_assets, pre_sign_in_cookie, security_headers],
    # A page event that fails because PostgreSQL or Redis is briefly down says so in a toast.
    backend_exception_handler=backend_exception_handler,
)
# Reminders, retries, reconciliation and lesson completion; each job takes a database lease,
# so with several workers one of them runs it at a time.
app.register_lifespan_task(periodic_jobs)
# How late the event loop wakes a sleeper: the `tutorly_event_loop_lag_seconds` metric.
app.register_lifespan_task(metrics.watch_event_loop)
# With REDIS_URL set, a booking made on any node wakes the success pages waiting on this one.
app.register_lifespan_task(relay_booked_signals)
