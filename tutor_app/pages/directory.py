"""`/`: the tutor directory, filterable by subject (`/?subject=Mathematics`)."""

from __future__ import annotations

import reflex as rx

from tutor_app.components import style
from tutor_app.components.alerts import notice_callout
from tutor_app.components.layout import page_layout
from tutor_app.components.tutor_card import tutor_card
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.auth import AuthState
from tutor_app.state.directory import DirectoryState
from tutor_app.state.typed import page

GRID_COLUMNS = rx.breakpoints(initial="1", sm="2", lg="3")


def _header() -> rx.Component:
    return rx.vstack(
        rx.heading("Find a tutor", as_="h1", size="8", weight="bold"),
        rx.text(
            "Friendly, experienced tutors for languages, sciences and more. Pick someone whose "
            "style fits you and book a lesson at a time that suits you.",
            size="3",
            color=style.MUTED_TEXT,
            max_width="40rem",
        ),
        spacing="2",
    )


def _filter_bar() -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.el.label(
                rx.text("Subject", size="2", weight="medium"),
                html_for="subject-filter",
            ),
            rx.select(
                DirectoryState.subject_options,
                value=DirectoryState.subject,
                on_change=DirectoryState.set_subject,
                id="subject-filter",
                custom_attrs={"aria-label": "Filter tutors by subject"},
                size="2",
                position="popper",
            ),
            spacing="3",
            align="center",
        ),
        rx.text(
            DirectoryState.result_summary,
            size="2",
            color=style.MUTED_TEXT,
            id="result-summary",
            custom_attrs={"aria-live": "polite"},
        ),
        justify="between",
        align="center",
        wrap="wrap",
        gap="0.75rem",
        width="100%",
        padding="0.75rem 1rem",
        border=style.SUBTLE_BORDER,
        border_radius="var(--radius-4)",
        background=style.SURFACE,
    )


def _empty_state() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("search-x", size=32, color=style.MUTED_TEXT, aria_hidden="true"),
            rx.heading(DirectoryState.empty_message, as_="h2", size="4", text_align="center"),
            rx.text(
                "Try another subject, or browse everyone.",
                size="2",
                color=style.MUTED_TEXT,
                text_align="center",
            ),
            rx.button(
                "Show all tutors",
                on_click=DirectoryState.show_all,
                size="3",
                id="show-all-tutors",
            ),
            spacing="3",
            align="center",
        ),
        id="no-tutors",
        width="100%",
        padding="3rem 1rem",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-4)",
        background=style.SURFACE,
    )


def _skeleton_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.skeleton(rx.box(width="4rem", height="4rem"), loading=True),
                rx.vstack(
                    rx.skeleton(rx.box(width="9rem", height="1.1rem"), loading=True),
                    rx.skeleton(rx.box(width="5rem", height="0.9rem"), loading=True),
                ),
                align="center",
                spacing="3",
            ),
            rx.skeleton(rx.box(width="100%", height="4rem"), loading=True),
            rx.skeleton(rx.box(width="100%", height="2rem"), loading=True),
            spacing="3",
        ),
        size="2",
        aria_hidden="true",
    )


def _results() -> rx.Component:
    return rx.cond(
        DirectoryState.loaded,
        rx.cond(
            DirectoryState.visible_tutors.length() > 0,
            rx.grid(
                rx.foreach(DirectoryState.visible_tutors, tutor_card),
                columns=GRID_COLUMNS,
                gap="1rem",
                width="100%",
                id="tutor-grid",
            ),
            _empty_state(),
        ),
        rx.grid(
            *[_skeleton_card() for _ in range(6)],
            columns=GRID_COLUMNS,
            gap="1rem",
            width="100%",
            custom_attrs={"aria-busy": "true"},
        ),
    )


@page(
    route=routes.DIRECTORY,
    title=f"Find a tutor · {PRODUCT_NAME}",
    description="Browse tutors by subject, compare rates and book a lesson online.",
    on_load=[AuthState.load_user, DirectoryState.load_directory],
)
def directory() -> rx.Component:
    """The directory: header, subject filter, and a grid of tutor cards."""
    return page_layout(
        rx.vstack(
            notice_callout(DirectoryState.home_notice, "home-notice"),
            _header(),
            _filter_bar(),
            _results(),
            spacing="6",
            width="100%",
        ),
    )
