"""Fewer script files per page: one shared chunk for the libraries most pages use.

Left to itself, the production build (Vite with Rolldown) gives every set of pages that share
some library code a chunk of its own: `/book-now` loaded 42 scripts, the blank Reflex app 9,
and a first visit spent its time fetching and linking them before the page could start.
`SharedChunksPlugin` (listed in `rxconfig.py`) groups the library code (`node_modules`) that
three or more pages import into one `vendor` chunk, which a visitor's browser then keeps for
every page; a library only one or two pages use (the admin overview's charts) stays with
those pages, so a student never downloads it. `/book-now` now loads 13 scripts; figures in
`bench/README.md`.

Vite's dev server does not bundle, so in `make dev` the group changes nothing.
"""

from __future__ import annotations

from typing import Any

from reflex.plugins import Plugin

from tutor_app import vite_config

# How many pages must import a library module for it to go into the shared chunk.
MIN_PAGES_SHARING = 3
VENDOR_GROUP = (
    '{ name: "vendor", test: /[\\\\/]node_modules[\\\\/]/, '
    f"minShareCount: {MIN_PAGES_SHARING} }}"
)
# Reflex's own template already lists groups (its env.json chunk): keep them, add ours.
_ADD_GROUP = (
    "  const output = config.build.rollupOptions.output;\n"
    "  output.codeSplitting = {\n"
    "    ...output.codeSplitting,\n"
    f"    groups: [...(output.codeSplitting?.groups ?? []), {VENDOR_GROUP}],\n"
    "  };\n"
)


def with_shared_chunks(config_text: str) -> str:
    """Reflex's `vite.config.js` with the shared `vendor` chunk group added."""
    return vite_config.extend(config_text, "sharedChunks", _ADD_GROUP)


class SharedChunksPlugin(Plugin):
    """Adds the `vendor` chunk group to the build's Vite config (see the module doc)."""

    def pre_compile(self, **context: Any) -> None:
        context["add_modify_task"](vite_config.VITE_CONFIG, with_shared_chunks)
