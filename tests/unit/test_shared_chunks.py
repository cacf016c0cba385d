"""`tutor_app.shared_chunks`: the build's Vite config gets the shared `vendor` chunk group
beside Reflex's own; it composes with the dev server's change. `tests/e2e/test_page_scripts.py`
checks what the real build then serves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.unit.test_dev_server import _node_check, _reflex_vite_config
from tutor_app import dev_server, shared_chunks, vite_config


def test_the_vendor_group_is_added_after_reflexs_own_groups(tmp_path: Path) -> None:
    config = shared_chunks.with_shared_chunks(_reflex_vite_config())

    assert config.count("export default") == 1
    assert 'name: "reflex-env"' in config  # Reflex's group is still there...
    assert "groups: [...(output.codeSplitting?.groups ?? []), " in config  # ...and kept first
    assert 'name: "vendor"' in config
    assert f"minShareCount: {shared_chunks.MIN_PAGES_SHARING}" in config
    _node_check(config, tmp_path)


def test_it_composes_with_the_dev_server_plugin(tmp_path: Path) -> None:
    config = dev_server.with_dev_server(
        shared_chunks.with_shared_chunks(_reflex_vite_config()), dev_server.plugin_options(8000)
    )

    assert config.count("export default") == 1
    assert config.index("const sharedChunksViteConfig") < config.index(
        "const devServerViteConfig")
    _node_check(config, tmp_path)


def test_the_plugin_changes_the_vite_config_in_every_mode() -> None:
    modified: dict[str, Callable[[str], str]] = {}

    shared_chunks.SharedChunksPlugin().pre_compile(add_modify_task=modified.__setitem__)

    assert modified[vite_config.VITE_CONFIG] is shared_chunks.with_shared_chunks
