"""The callouts pages show: red for an error, green for a notice (render only)."""

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
    """A green callout for what happened (a link was mailed, a password changed), announced
    politely to screen readers, shown only while `message` is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="circle_check", color_scheme="green", role="status",
                   id=callout_id, width="100%"),
    )
