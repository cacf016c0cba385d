"""Reflex configuration; every value comes from tutor_app.core.settings."""

import reflex as rx

from tutor_app.core.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="tutor_app",
    db_url=_settings.database_url,
    redis_url=_settings.redis_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
