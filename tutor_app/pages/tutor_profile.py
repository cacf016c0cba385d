"""`/tutors/[tutor_id]`: one tutor's profile, with the way to book them."""

from __future__ import annotations

from typing import Any

import reflex as rx

from tutor_app.components import style
from tutor_app.components.layout import link_button, loading_placeholder, page_layout
from tutor_app.components.not_found import not_found_message
from tutor_app.components.tutor_card import (
    INTRO_BUTTON,
    headline_line,
    intro_badge,
    subject_badges,
    timezone_line,
    tutor_avatar,
)
from tutor_app.core import routes
from tutor_app.state.auth import AuthState
from tutor_app.state.directory import TutorProfileState
from tutor_app.state.typed import array, page, row

S = TutorProfileState


def _back_link() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("arrow-left", size=16, aria_hidden="true"),
            rx.text("All tutors"),
            spacing="1",
            align="center",
        ),
        href=routes.DIRECTORY,
        size="2",
        color_scheme="gray",
        underline="hover",
    )


def _summary_card() -> rx.Component:
    """Photo, name, subjects, rate and the main action: what decides a booking."""
    return rx.card(
        rx.flex(
            tutor_avatar(row(S.tutor), size=style.AVATAR_SIZE_PROFILE),
            rx.vstack(
                rx.heading(S.tutor["name"], as_="h1", size="7", weight="bold", id="tutor-name"),
                rx.box(headline_line(row(S.tutor)["headline"].to(str), size="3"),
                       id="tutor-headline"),
                subject_badges(row(S.tutor)["subjects"], size="2"),
                rx.cond(S.intro_url != "", intro_badge(size="2")),
                timezone_line(S.tutor["timezone_label"], size="2"),
                spacing="2",
                flex="1",
                min_width="0",
            ),
            rx.vstack(
                rx.text(
                    S.tutor["rate"],
                    size="6",
                    weight="bold",
                    color=rx.color("accent", 11),
                    id="tutor-rate",
                ),
                rx.text(S.lengths_label, size="1", color=style.MUTED_TEXT),
                link_button(
                    rx.icon("calendar-plus", size=18, aria_hidden="true"),
                    "Book a lesson",
                    href=S.book_url,
                    size="3",
                    id="book-lesson",
                    width=["100%", "auto"],
                ),
                rx.cond(
                    S.intro_url != "",
                    link_button(
                        rx.icon("gift", size=16, aria_hidden="true"),
                        INTRO_BUTTON,
                        href=S.intro_url,
                        variant="outline",
                        size="3",
                        id="book-intro",
                        width=["100%", "auto"],
                    ),
                ),
                spacing="2",
                align=rx.breakpoints(initial="start", sm="end"),
                width=["100%", "auto"],
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            align=rx.breakpoints(initial="start", sm="center"),
            gap="1.25rem",
        ),
        size=rx.breakpoints(initial="3", sm="4"),
        width="100%",
    )


def _section(title: str, *body: rx.Component, **stack_props: Any) -> rx.Component:
    """A card of the profile's grid: its h2 heading, then `body`."""
    return rx.card(
        rx.vstack(rx.heading(title, as_="h2", size="4"), *body, spacing="3", **stack_props),
        size="3",
        width="100%",
    )


def _about() -> rx.Component:
    return _section(
        "About",
        rx.text(S.tutor["bio"], size="3", line_height="1.7", id="tutor-bio"),
    )


def _hours() -> rx.Component:
    return _section(
        "Weekly hours",
        rx.text(
            "In the tutor's time zone, ",
            rx.text.strong(S.tutor["timezone"]),
            ". When you book, times are shown in yours.",
            size="2",
            color=style.MUTED_TEXT,
        ),
        rx.cond(
            array(S.hours).length() > 0,
            rx.el.dl(
                rx.foreach(
                    S.hours,
                    lambda row: rx.flex(
                        rx.el.dt(rx.text(row["days"], weight="medium", size="2")),
                        rx.el.dd(rx.text(row["times"], size="2", color=style.MUTED_TEXT),
                                 margin="0"),
                        justify="between",
                        gap="1rem",
                        padding_y="0.5rem",
                        border_bottom=style.SUBTLE_BORDER,
                    ),
                ),
                width="100%",
                margin="0",
                id="weekly-hours",
            ),
            rx.text("No regular hours listed right now.", size="2"),
        ),
        width="100%",
    )


def _profile() -> rx.Component:
    return rx.vstack(
        _back_link(),
        _summary_card(),
        rx.grid(
            _about(),
            _hours(),
            columns=rx.breakpoints(initial="1", md="2"),
            gap="1rem",
            width="100%",
            align_items="start",
        ),
        spacing="5",
        width="100%",
    )


def _not_found() -> rx.Component:
    return not_found_message(
        rx.icon("user-x", size=36, color=style.MUTED_TEXT, aria_hidden="true"),
        "Tutor not found",
        "This tutor isn't listed any more, or the link is mistyped.",
        link_button("Browse all tutors", href=routes.DIRECTORY, size="3", id="back-to-directory"),
        id="tutor-not-found",
    )


def _loading() -> rx.Component:
    return loading_placeholder(
        rx.box(height="9rem", width="100%"),
        rx.box(height="12rem", width="100%"),
        spacing="4",
    )


@page(
    route=routes.PUBLIC_TUTOR_PROFILE,
    title=S.page_title,
    on_load=[AuthState.load_user, TutorProfileState.load_profile],
)
def tutor_profile() -> rx.Component:
    """A tutor's profile, "Tutor not found" for an unknown id."""
    return page_layout(
        # is_hydrated turns true only after on_load has run, so moving from one profile to
        # another never shows the previous tutor for a moment.
        rx.cond(
            rx.State.is_hydrated & S.loaded,
            rx.cond(S.found, _profile(), _not_found()),
            _loading(),
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )
