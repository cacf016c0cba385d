"""How one tutor looks in the directory grid, and the pieces the profile reuses."""

from __future__ import annotations

from typing import Any, Literal

import reflex as rx
from reflex.vars import Var

from tutor_app.components import style
from tutor_app.components.layout import link_button
from tutor_app.core import routes
from tutor_app.state.typed import Row

PROFILE_PREFIX = routes.tutor_profile("")  # "/tutors/"
BOOK_PREFIX = routes.book_now("ID").removesuffix("ID")  # "/book-now?tutor="
INTRO_PREFIX, INTRO_SUFFIX = routes.book_consultation("ID").split("ID")  # "...&intro=1"
INTRO_BUTTON = "Book a free 15-minute intro"
# The Radix sizes of the small badges and text lines here.
Size = Literal["1", "2", "3"]


def tutor_avatar(tutor: Row, size: Any = style.AVATAR_SIZE_CARD) -> rx.Component:
    """The tutor's photo; their initials while it loads or when it is missing."""
    return rx.avatar(
        src=tutor["photo_url"],
        fallback=tutor["initials"],
        size=size,
        radius="full",
        alt=tutor["name"],
    )


def subject_badges(subjects: Var[list[str]], size: Size = "1") -> rx.Component:
    """The tutor's subjects as quiet badges."""
    return rx.flex(
        rx.foreach(
            subjects,
            lambda subject: rx.badge(subject, variant="soft", radius="full", size=size),
        ),
        gap="0.375rem",
        wrap="wrap",
    )


def headline_line(headline: Var[str], size: Size = "2") -> rx.Component:
    """The tutor's one-line pitch, when they wrote one."""
    return rx.cond(
        headline != "",
        rx.text(headline, size=size, weight="medium", class_name="tutor-headline"),
    )


def timezone_line(label: Var[str] | str, size: Size = "1") -> rx.Component:
    """Where the tutor's day happens: the zone and today's offset."""
    return rx.hstack(
        rx.icon("globe", size=14, color=style.MUTED_TEXT, aria_hidden="true"),
        rx.text(label, size=size, color=style.MUTED_TEXT),
        spacing="1",
        align="center",
    )


def intro_badge(size: Size = "1") -> rx.Component:
    """The mark of a tutor who offers a free consultation."""
    return rx.badge(
        rx.icon("gift", size=12, aria_hidden="true"),
        "Free 15-min intro",
        color_scheme="grass",
        variant="soft",
        radius="full",
        size=size,
        class_name="intro-badge",
    )


def tutor_card(tutor: Row) -> rx.Component:
    """A directory card: who, what, how much, where, and the two ways on (profile, book).

    `tutor` is one `TutorCard` of `DirectoryState.visible_tutors`. The card has the id
    `tutor-card-<tutor id>` (and the same `data-testid`) for the browser tests; a tutor who
    offers a free consultation gets a badge and `#intro-<tutor id>` into the wizard.
    """
    profile_url = PROFILE_PREFIX + tutor["id"].to(str)
    book_url = BOOK_PREFIX + tutor["id"].to(str)
    intro_url = INTRO_PREFIX + tutor["id"].to(str) + INTRO_SUFFIX
    offers_intro = tutor["offers_consultation"].to(bool)
    card_id = "tutor-card-" + tutor["id"].to(str)
    return rx.card(
        rx.vstack(
            rx.hstack(
                tutor_avatar(tutor),
                rx.vstack(
                    rx.link(
                        rx.heading(tutor["name"], as_="h2", size="4", weight="bold"),
                        href=profile_url,
                        underline="hover",
                        color=rx.color("gray", 12),
                    ),
                    rx.text(
                        rx.text.strong(tutor["rate"]),
                        size="2",
                        color=rx.color("accent", 11),
                    ),
                    spacing="1",
                    min_width="0",
                ),
                spacing="3",
                align="center",
            ),
            headline_line(tutor["headline"].to(str)),
            subject_badges(tutor["subjects"].to(list[str])),
            rx.cond(offers_intro, intro_badge()),
            rx.text(
                tutor["bio"],
                size="2",
                color=style.MUTED_TEXT,
                style=style.line_clamp(3),
            ),
            timezone_line(tutor["timezone_label"].to(str)),
            rx.hstack(
                link_button(
                    "View profile",
                    href=profile_url,
                    variant="soft",
                    size="2",
                    flex="1",
                ),
                link_button("Book", href=book_url, size="2", flex="1"),
                spacing="2",
                width="100%",
                margin_top="auto",
                padding_top="0.5rem",
            ),
            rx.cond(
                offers_intro,
                link_button(
                    rx.icon("gift", size=14, aria_hidden="true"),
                    INTRO_BUTTON,
                    href=intro_url,
                    variant="outline",
                    size="2",
                    width="100%",
                    id="intro-" + tutor["id"].to(str),
                ),
            ),
            spacing="3",
            height="100%",
        ),
        id=card_id,
        custom_attrs={"data-testid": card_id},
        size="2",
        height="100%",
        transition="box-shadow 0.15s ease, transform 0.15s ease",
        _hover={"box_shadow": "var(--shadow-3)"},
    )
