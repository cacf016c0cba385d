"""`/dashboard`: the signed-in student's lessons, upcoming (`#upcoming`) and past (`#past`)."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ArrayVar

from tutor_app.components import style
from tutor_app.components.layout import link_button, loading_placeholder, page_layout
from tutor_app.components.lesson_card import lesson_card
from tutor_app.components.manage_dialogs import manage_dialogs
from tutor_app.components.verify_reminder import verify_reminder
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.auth import AuthState
from tutor_app.state.dashboard import DashboardState, LessonCard
from tutor_app.state.typed import array, page

D = DashboardState


def _section(
    title: str, section_id: str, cards: ArrayVar[list[LessonCard]], empty_text: str
) -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.heading(title, as_="h2", size="5"),
                rx.badge(cards.length().to_string(), variant="soft", radius="full"),
                spacing="2",
                align="center",
            ),
            rx.cond(
                cards.length() > 0,
                rx.vstack(rx.foreach(cards, lesson_card), spacing="3", width="100%"),
                rx.text(empty_text, size="2", color=style.MUTED_TEXT),
            ),
            spacing="3",
            width="100%",
        ),
        id=section_id,
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("calendar-plus", size=36, color=style.MUTED_TEXT, aria_hidden="true"),
            rx.heading("No lessons yet", as_="h2", size="5"),
            rx.text(
                "Find a tutor you like, pick a lesson length and a time, and pay securely. "
                "Your lessons will show up here.",
                size="3",
                color=style.MUTED_TEXT,
                text_align="center",
                max_width="28rem",
            ),
            link_button("Find a tutor", href=routes.DIRECTORY, size="3", id="find-a-tutor"),
            spacing="3",
            align="center",
        ),
        id="dashboard-empty",
        padding="3rem 1rem",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-4)",
        background=style.SURFACE,
        width="100%",
    )


def _loading() -> rx.Component:
    return loading_placeholder(*[rx.box(height="6rem", width="100%") for _ in range(3)],
                               spacing="3")


@page(
    route=routes.DASHBOARD,
    title=f"My lessons · {PRODUCT_NAME}",
    on_load=[AuthState.require_login, D.load],
)
def dashboard() -> rx.Component:
    """Upcoming lessons first, then past ones; an empty dashboard says how to book."""
    return page_layout(
        rx.vstack(
            rx.flex(
                rx.vstack(
                    rx.heading("My lessons", as_="h1", size="7"),
                    rx.text("Times are shown in ", D.zone_label, ".", size="2",
                            color=style.MUTED_TEXT),
                    spacing="1",
                ),
                link_button(rx.icon("plus", size=16, aria_hidden="true"), "Book a lesson",
                            href=routes.BOOK_NOW, size="3"),
                justify="between",
                align="end",
                wrap="wrap",
                gap="1rem",
                width="100%",
            ),
            verify_reminder(),  # signed in with an email not confirmed yet
            manage_dialogs(),  # cancel / reschedule dialogs and their notice
            rx.cond(
                D.loaded,
                rx.cond(
                    D.is_empty,
                    _empty(),
                    rx.vstack(
                        _section("Upcoming", "upcoming", array(D.upcoming),
                                 "Nothing scheduled. Book your next lesson any time."),
                        _section("Past", "past", array(D.past), "No past lessons yet."),
                        spacing="7",
                        width="100%",
                    ),
                ),
                _loading(),
            ),
            spacing="6",
            width="100%",
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )
