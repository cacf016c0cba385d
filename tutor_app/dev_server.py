"""`make dev`: Reflex's development mode made to work like the single-port app, locally.

In development Reflex serves the pages from the Vite dev server (the frontend port, hot
reloading what the backend recompiles) and runs the Python backend on a port of its own.
Three things the app relies on would break there, and `DevServerPlugin` (listed in
`rxconfig.py`) mends them in the dev server's generated `vite.config.js`, through the
plugin in `tutor_app/dev_server.js`:

- pages link, post and navigate to the backend's own paths (`routes.BACKEND_PREFIXES`:
  `/api/...`, `/media/...`) on their own origin: the dev server forwards those to the backend;
- the pre-sign-in cookie is set by the backend on the pages it serves
  (`api.pre_sign_in_cookie`), which in development it serves none of: the dev server asks the
  dev-only `routes.DEV_PRE_SIGN_IN` for it on every page load;
- the dev server would listen on every interface; it listens on loopback only.

With those, APP_URL is the dev server's origin (`http://localhost:<frontend port>`, what
`make dev` sets) and nothing else changes: the websocket, opened by the pages straight to the
backend's port, comes from APP_URL's origin (`cors_allowed_origins`,
`AuthState._session_cookie_header`), and cookies, which do not care about ports, reach both.

The plugin does nothing outside Reflex's development mode, and nothing unless
`Settings.local_dev`: a production build never contains it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from reflex.plugins import Plugin
from reflex_base.config import get_config
from reflex_base.constants import Env
from reflex_base.environment import environment

from tutor_app import vite_config
from tutor_app.core import routes
from tutor_app.core.settings import get_settings, url_origin

log = logging.getLogger(__name__)

JS_SOURCE = Path(__file__).with_name("dev_server.js")
JS_NAME = "tutorly-dev-server.js"  # its name in Reflex's web directory
LOOPBACK = "127.0.0.1"  # where the backend listens (`make dev`'s --backend-host)
# Where the dev server listens: loopback, under the name APP_URL uses, so that the address
# Reflex prints is the one whose origin sign-in accepts.
DEV_SERVER_HOST = "localhost"
APP_URL_MISMATCH = (
    "APP_URL is %s but the dev server's pages are on %s: sign-in and the websocket accept "
    "only APP_URL's origin. Set APP_URL=%s (make dev does)."
)


def dev_server_active() -> bool:
    """Whether the dev server is being configured now: Reflex's development mode on a
    developer's own machine."""
    return environment.REFLEX_ENV_MODE.get() == Env.DEV and get_settings().local_dev


def plugin_options(backend_port: int) -> dict[str, Any]:
    """What `dev_server.js` is given: where the backend is, and what it answers itself."""
    return {
        "backend": f"http://{LOOPBACK}:{backend_port}",
        "backendPaths": list(routes.BACKEND_PREFIXES),
        "cookiePath": routes.DEV_PRE_SIGN_IN,
        "host": DEV_SERVER_HOST,
    }


def with_dev_server(config_text: str, options: dict[str, Any]) -> str:
    """Reflex's `vite.config.js` with the dev server plugin first among its plugins."""
    return vite_config.extend(
        config_text, "devServer",
        f"  config.plugins = [tutorlyDevServer({json.dumps(options)}), ...config.plugins];\n",
        imports=f'import tutorlyDevServer from "./{JS_NAME}";\n',
    )


def _check_app_url(frontend_port: int | None) -> None:
    pages = f"http://localhost:{frontend_port}" if frontend_port else ""
    if pages and url_origin(get_settings().app_url) != pages:
        log.warning(APP_URL_MISMATCH, get_settings().app_url, pages, pages)


class DevServerPlugin(Plugin):
    """Adds `dev_server.js` to the dev server's Vite config (see the module doc)."""

    def pre_compile(self, **context: Any) -> None:
        if not dev_server_active():
            return
        config = get_config()
        _check_app_url(config.frontend_port)
        options = plugin_options(config.backend_port or 8000)
        context["add_save_task"](lambda: (JS_NAME, JS_SOURCE.read_text(encoding="utf-8")))
        context["add_modify_task"](vite_config.VITE_CONFIG,
                                   lambda text: with_dev_server(text, options))
