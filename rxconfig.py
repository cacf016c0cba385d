"""Reflex configuration; every value comes from tutor_app.core.settings."""

import reflex as rx

from tutor_app.core.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="tutor_app",
    db_url=_settings.database_url,
    redis_url=_settings.redis_url,
    # Socket.IO and the backend's CORS middleware accept only the app's own pages: the
    # websocket carries the visitor's sign-in cookie, so another site must not open it.
    cors_allowed_origins=[_settings.app_origin],
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
