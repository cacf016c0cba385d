"""Reflex config of the blank floor app: nothing but what `reflex init` would give."""

import reflex as rx

config = rx.Config(
    app_name="blank_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=["reflex.plugins.sitemap.SitemapPlugin"],
)
