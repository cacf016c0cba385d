"""One lesson on the dashboard: tutor, when (viewer's zone), length, price, status, book again.

Takes one `LessonCard` (plain strings formatted by `DashboardState`); the card carries the
class `lesson-card` and its "Book again" link the id `book-again-<booking id>` (worded "Book a
lesson" after a free consultation, whose card has a `.lesson-kind` badge). An upcoming
lesson also offers "Add to calendar": `#add-to-calendar-<booking id>` (the `.ics` file) and
`#google-calendar-<booking id>` (Google Calendar's event form, in a new tab).
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var
from reflex_components_core.react_router.dom import ReactRouterLink

from tutor_app.components import style
from tutor_app.components.layout import link_button
from tutor_app.components.manage_dialogs import manage_buttons
from tutor_app.state.typed import Row


def _detail(icon: str, text: Var[Any]) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=14, color=style.MUTED_TEXT, aria_hidden="true"),
        rx.text(text, size="2"),
        spacing="2",
        align="center",
    )


def _calendar_link(icon: str, label: str, **link_props: Any) -> rx.Component:
    """A small button-styled `<a>` that the browser follows itself, never React Router.

    `rx.link`/`rx.el.a` are React Router links in Reflex 0.10: the `.ics` route would be
    routed client-side to a page that does not exist, so it needs `reload_document` (and
    `download`, so the file is saved and the dashboard stays); an absolute URL with
    `target="_blank"` is left to the browser as well.
    """
    return rx.button(
        ReactRouterLink.create(rx.icon(icon, size=14, aria_hidden="true"), label, **link_props),
        as_child=True,
        variant="ghost",
        size="1",
    )


def _add_to_calendar(lesson: Row) -> rx.Component:
    """"Add to calendar" for an upcoming lesson: the `.ics` file and a Google Calendar link."""
    booking_id = lesson["id"].to(str)
    return rx.cond(
        lesson["calendar_file_url"].to(str) != "",
        rx.hstack(
            _calendar_link(
                "calendar-plus",
                "Add to calendar",
                to=lesson["calendar_file_url"].to(str),
                reload_document=True,
                download="",
                id="add-to-calendar-" + booking_id,
                title="Download an .ics file for Apple Calendar, Outlook and others",
            ),
            _calendar_link(
                "external-link",
                "Google Calendar",
                to=lesson["google_calendar_url"].to(str),
                reload_document=True,
                target="_blank",
                rel="noopener noreferrer",
                id="google-calendar-" + booking_id,
                aria_label="Add to Google Calendar (opens in a new tab)",
            ),
            spacing="4",
            wrap="wrap",
            padding_top="0.25rem",
            class_name="add-to-calendar",
        ),
    )


def lesson_card(lesson: Row) -> rx.Component:
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
                        rx.cond(
                            lesson["kind_label"].to(str) != "",
                            rx.badge(lesson["kind_label"], color_scheme="grass", variant="soft",
                                     radius="full", class_name="lesson-kind"),
                        ),
                        rx.badge(
                            lesson["status"],
                            # Radix types colour schemes as literals; the state sends one.
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
                    _add_to_calendar(lesson),  # .ics and Google Calendar links
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
                    rx.fragment(lesson["book_again_label"]),
                    href=lesson["book_again_url"].to(str),
                    variant="soft",
                    size="2",
                    id=book_again_id,
                ),
            ),
            manage_buttons(lesson),  # reschedule / cancel (scheduled lessons)
            justify="between",
            align=rx.breakpoints(initial="start", sm="center"),
            direction=rx.breakpoints(initial="column", sm="row"),
            gap="0.75rem",
        ),
        class_name="lesson-card",
        custom_attrs={"data-booking-id": lesson["id"].to(str)},
        width="100%",
    )
