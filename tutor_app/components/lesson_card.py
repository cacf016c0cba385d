"""One lesson on the dashboard: tutor, when (viewer's zone), length, price, status, book again.

Takes one `LessonCard` (plain strings formatted by `DashboardState`); the card carries the
class `lesson-card` and its "Book again" link the id `book-again-<booking id>`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from tutor_app import style
from tutor_app.components.layout import link_button
from tutor_app.components.manage_dialogs import manage_buttons


def _detail(icon: str, text: Var[Any]) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=14, color=style.MUTED_TEXT, aria_hidden="true"),
        rx.text(text, size="2"),
        spacing="2",
        align="center",
    )


def lesson_card(lesson: Var[Any]) -> rx.Component:
    """The card of one booking."""
    book_again_id = "book-again-" + lesson["id"].to(str)
    return rx.card(
        rx.flex(
            rx.hstack(
                rx.avatar(
                    src=lesson["tutor_photo_url"],
                    fallback=lesson["tutor_initials"],
                    size="5",
                    radius="full",
                    alt=lesson["tutor_name"],
                ),
                rx.vstack(
                    rx.hstack(
                        rx.heading(lesson["tutor_name"], as_="h3", size="4"),
                        rx.badge(
                            lesson["status"],
                            color_scheme=lesson["status_color"].to(str),  # type: ignore[arg-type]
                            variant="soft",
                            radius="full",
                            class_name="lesson-status",
                        ),
                        spacing="2",
                        align="center",
                        wrap="wrap",
                    ),
                    _detail("calendar", lesson["when"]),
                    rx.hstack(
                        _detail("clock", lesson["duration"]),
                        _detail("credit-card", lesson["price"]),
                        spacing="4",
                        wrap="wrap",
                    ),
                    rx.cond(
                        lesson["refund"].to(str) != "",
                        rx.text(lesson["refund"], size="2", color=rx.color("red", 11),
                                class_name="lesson-refund"),
                    ),
                    spacing="1",
                    min_width="0",
                ),
                spacing="4",
                align="start",
                min_width="0",
            ),
            rx.cond(
                lesson["book_again_url"].to(str) != "",
                link_button(
                    rx.icon("rotate-cw", size=14, aria_hidden="true"),
                    "Book again",
                    href=lesson["book_again_url"].to(str),
                    variant="soft",
                    size="2",
                    id=book_again_id,
                ),
            ),
            manage_buttons(lesson),  # issue 5: reschedule / cancel (scheduled lessons)
            justify="between",
            align=rx.breakpoints(initial="start", sm="center"),  # type: ignore[arg-type]
            direction=rx.breakpoints(initial="column", sm="row"),  # type: ignore[arg-type]
            gap="0.75rem",
        ),
        class_name="lesson-card",
        custom_attrs={"data-booking-id": lesson["id"].to(str)},
        width="100%",
    )
