"""Changes this app's Reflex plugins make to the `vite.config.js` Reflex generates.

Reflex writes the file from its own template on every compile and offers no setting for what
the app needs there, so a plugin wraps the exported config instead of editing the template's
text: Reflex's config is built as before, then a few statements change it. A template of
another shape (a Reflex upgrade) is refused loudly rather than half-edited.
"""

from __future__ import annotations

VITE_CONFIG = "vite.config.js"
# The line of Reflex's vite.config.js template that exports the config.
_EXPORT = "export default defineConfig("


class ViteConfigError(RuntimeError):
    """Reflex's vite.config.js no longer looks as this module expects (a Reflex upgrade)."""


def extend(config_text: str, name: str, statements: str, imports: str = "") -> str:
    """`config_text` (a `vite.config.js`) with its exported config changed by `statements`
    (JS that edits `config`), after `imports` (JS import lines). `name`, a JS identifier,
    keeps each extension's wrapped config apart, so two plugins may extend one file."""
    if config_text.count(_EXPORT) != 1:
        raise ViteConfigError(f"{VITE_CONFIG} has no single `{_EXPORT}`: Reflex changed it")
    wrapped = f"{name}ViteConfig"
    body = config_text.replace(_EXPORT, f"const {wrapped} = defineConfig(", 1)
    return (
        imports
        + body
        + "\n\nexport default defineConfig((env) => {\n"
        + f"  const config = {wrapped}(env);\n"
        + statements
        + "  return config;\n"
        + "});\n"
    )
