"""The callouts pages show: red for an error, green for news (render only)."""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var


def error_callout(message: Var[str] | str, callout_id: str) -> rx.Component:
    """A red callout announced to screen readers, shown only while `message` is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert",
                   id=callout_id, width="100%"),
    )


def notice_callout(message: Var[str] | str, callout_id: str) -> rx.Component:
    """A calm callout for news (something done), read out politely; shown only while
    `message` is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="info", color_scheme="green", role="status",
                   id=callout_id, width="100%"),
    )
