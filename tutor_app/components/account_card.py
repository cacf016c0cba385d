"""The narrow card of the account pages (verify an email, forgot or reset a password); render
only. The sign-in and sign-up forms have their own, with the Google button
(`pages/login.py`)."""

from __future__ import annotations

import reflex as rx

from tutor_app.components import style
from tutor_app.components.layout import page_layout


def account_card(title: str | None, *children: rx.Component) -> rx.Component:
    """A page whose content is one card: its heading (h1, unless `children` bring their own),
    then `children`, one under the other."""
    heading = [rx.heading(title, as_="h1", size="7")] if title is not None else []
    return page_layout(
        rx.card(
            rx.vstack(*heading, *children, spacing="4", width="100%"),
            size="4",
            width="100%",
        ),
        max_width="28rem",
    )


def muted(*text: str | rx.Component) -> rx.Component:
    """Explanatory text under a heading."""
    return rx.text(*text, color=style.MUTED_TEXT, size="2")
