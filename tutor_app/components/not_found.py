"""The centred "nothing here" message of the 404 page, of an unknown tutor and of a tutor
portal page the visitor may not see (render only)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from tutor_app.components import style
from tutor_app.components.layout import link_button
from tutor_app.core import routes


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


def missing_page_message(**props: Any) -> rx.Component:
    """The 404 page's message: what happened, and the directory as the way back. Also what a
    visitor sees of a page that is not theirs to see, so it looks like any missing page."""
    return not_found_message(
        rx.text("404", size="9", weight="bold", color=rx.color("accent", 9)),
        "We couldn't find that page",
        "The link may be old or mistyped. Our tutors are still here, though.",
        link_button("Find a tutor", href=routes.DIRECTORY, size="3"),
        **props,
    )
