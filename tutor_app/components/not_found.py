"""The centred "nothing here" message of the 404 page and of an unknown tutor (render only)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from tutor_app.components import style


def not_found_message(
    lead: rx.Component, title: str, text: str, action: rx.Component, **props: Any
) -> rx.Component:
    """`lead` (a big icon or number), the h1 `title`, `text`, then `action`, the way back.

    `props` go to the centring box (an id, say).
    """
    return rx.center(
        rx.vstack(
            lead,
            rx.heading(title, as_="h1", size="6"),
            rx.text(text, size="3", color=style.MUTED_TEXT, text_align="center"),
            action,
            spacing="3",
            align="center",
        ),
        padding="4rem 1rem",
        **props,
    )
