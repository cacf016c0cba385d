"""`tutor_app.dev_server`: the dev server's Vite config in `make dev` (Reflex's development mode)
gets the plugin that forwards the backend's paths and sets the pre-sign-in cookie; a
production build never does. `tests/e2e/test_make_dev.py` runs it for real."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reflex_base.compiler.templates import vite_config_template

from tutor_app import dev_server, vite_config
from tutor_app.api import api_routes
from tutor_app.core import routes
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]
NODE = shutil.which("node") or "node"


def _reflex_vite_config() -> str:
    """What Reflex writes to vite.config.js in development."""
    return vite_config_template(base="/", hmr=True, force_full_reload=False,
                                experimental_hmr=False, sourcemap=False)


def _node_check(source: str, tmp_path: Path) -> None:
    """Fail unless `source` parses as an ES module (imports are not resolved)."""
    path = tmp_path / "check.mjs"
    path.write_text(source, encoding="utf-8")
    done = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_vite_config_puts_the_plugin_first_with_its_options(tmp_path: Path) -> None:
    options = dev_server.plugin_options(8123)

    config = dev_server.with_dev_server(_reflex_vite_config(), options)

    assert config.startswith(f'import tutorlyDevServer from "./{dev_server.JS_NAME}";\n')
    assert config.count("export default") == 1
    assert f"tutorlyDevServer({json.dumps(options)}), ...config.plugins" in config
    assert options == {"backend": "http://127.0.0.1:8123", "backendPaths": ["/api/", "/media/"],
                       "cookiePath": routes.DEV_PRE_SIGN_IN, "host": "localhost"}
    _node_check(config, tmp_path)


def test_the_plugin_itself_is_an_es_module(tmp_path: Path) -> None:
    _node_check(dev_server.JS_SOURCE.read_text(encoding="utf-8"), tmp_path)


def test_a_vite_config_of_another_shape_is_refused() -> None:
    with pytest.raises(vite_config.ViteConfigError):
        dev_server.with_dev_server("module.exports = {};", dev_server.plugin_options(8000))


class _Context:
    """The two hooks of Reflex's pre-compile context the plugin uses, recording calls."""

    def __init__(self) -> None:
        self.saved: list[tuple[str, str]] = []
        self.modified: dict[str, Callable[[str], str]] = {}

    def kwargs(self) -> dict[str, Any]:
        return {"add_save_task": lambda task: self.saved.append(task()),
                "add_modify_task": self.modified.__setitem__}


def test_in_development_on_a_developers_machine_the_plugin_is_added(
    monkeypatch: pytest.MonkeyPatch, configure: ConfigureFn
) -> None:
    monkeypatch.setenv("REFLEX_ENV_MODE", "dev")
    configure(APP_ENV="dev", APP_URL="http://localhost:3000")
    context = _Context()

    dev_server.DevServerPlugin().pre_compile(**context.kwargs())

    assert dev_server.dev_server_active()
    assert context.saved == [(dev_server.JS_NAME, dev_server.JS_SOURCE.read_text())]
    modified = context.modified[vite_config.VITE_CONFIG](_reflex_vite_config())
    assert "tutorlyDevServer(" in modified


@pytest.mark.parametrize(("mode", "env"), [
    ("prod", {"APP_ENV": "dev", "APP_URL": "http://localhost:3000"}),  # `make run`, tests
    ("preview", {"APP_ENV": "dev", "APP_URL": "http://localhost:3000"}),
    ("dev", {"APP_ENV": "prod", "SECRET_KEY": "p" * 40, "STRIPE_SECRET_KEY": "sk_live_x",
             "STRIPE_WEBHOOK_SECRET": "whsec_live", "APP_URL": "https://tutorly.example"}),
    ("dev", {"APP_ENV": "dev", "APP_URL": "https://tutorly.example"}),
])
def test_anywhere_else_the_build_is_left_as_reflex_makes_it(
    monkeypatch: pytest.MonkeyPatch, configure: ConfigureFn, mode: str, env: dict[str, str]
) -> None:
    monkeypatch.setenv("REFLEX_ENV_MODE", mode)
    configure(**env)
    context = _Context()

    dev_server.DevServerPlugin().pre_compile(**context.kwargs())

    assert not dev_server.dev_server_active()
    assert context.saved == [] and context.modified == {}


def test_every_backend_route_is_under_a_prefix_the_dev_server_forwards() -> None:
    paths = [getattr(route, "path", "") for route in api_routes()]
    assert paths and all(p.startswith(routes.BACKEND_PREFIXES) for p in paths), paths
