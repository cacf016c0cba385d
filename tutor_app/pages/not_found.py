"""The page for any address the app does not know: a way back instead of a bare 404."""

from __future__ import annotations

import reflex as rx

from tutor_app.components.layout import page_layout
from tutor_app.components.not_found import missing_page_message
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.auth import AuthState
from tutor_app.state.typed import page


@page(route="404", title=f"Page not found · {PRODUCT_NAME}", on_load=AuthState.load_user)
def not_found() -> rx.Component:
    """Say what happened and offer the directory."""
    return page_layout(missing_page_message())
