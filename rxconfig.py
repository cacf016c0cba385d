"""Reflex configuration; every value comes from tutor_app.core.settings."""

import os

import reflex as rx

from tutor_app.core.settings import get_settings
from tutor_app.dev_server import DevServerPlugin
from tutor_app.shared_chunks import SharedChunksPlugin

_settings = get_settings()

# With state in Redis (REDIS_URL), a worker keeps a connected tab's state in memory and holds
# its Redis lock between events (Reflex's opportunistic lock), writing it back when another
# worker asks for it or after a few idle seconds, instead of loading and saving it around
# every event: 20-30% less CPU per event under load (bench/README.md). A tab's events all
# come through its one websocket, so another worker asks only when the tab reconnects there.
# REFLEX_OPLOCK_ENABLED=false in the environment turns it off.
os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")

config = rx.Config(
    app_name="tutor_app",
    db_url=_settings.database_url,
    redis_url=_settings.redis_url,
    # Socket.IO and the backend's CORS middleware accept only the app's own pages: the
    # websocket carries the visitor's sign-in cookie, so another site must not open it.
    cors_allowed_origins=[_settings.app_origin],
    # Behind a reverse proxy: the page events' client address from its X-Forwarded-For, as
    # the API's (`api.deps.client_ip`) from the same setting.
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # DevServerPlugin: in `make dev` only (Reflex's development mode, local dev), the dev
    # server forwards the backend's paths and sets the pre-sign-in cookie (dev_server.py).
    # SharedChunksPlugin: the libraries most pages use in one script file (shared_chunks.py).
    plugins=[rx.plugins.RadixThemesPlugin(), DevServerPlugin(), SharedChunksPlugin()],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
