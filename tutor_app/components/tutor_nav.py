"""The tutor portal's own navigation: Lessons, Profile, Availability, Earnings (render only).

Shown at the top of every `/tutor...` page, under the page's heading. The current page's link
is marked (`aria-current="page"`), as in the top bar. Ids for the browser tests:
`#tutor-nav` and `#tutor-nav-<lessons|profile|availability|earnings>`.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components.layout import loading_placeholder, page_layout
from tutor_app.components.not_found import missing_page_message
from tutor_app.core import routes
from tutor_app.state.typed import cond_value

TUTOR_LINKS: tuple[tuple[str, str, str], ...] = (
    ("lessons", "Lessons", routes.TUTOR_PORTAL),
    ("profile", "Profile", routes.TUTOR_PROFILE),
    ("availability", "Availability", routes.TUTOR_AVAILABILITY),
    ("earnings", "Earnings", routes.TUTOR_EARNINGS),
)


def _tab(key: str, label: str, href: str) -> rx.Component:
    path = rx.State.router.url.path
    current = (path == href) | (path == href + "/")
    return rx.link(
        label,
        href=href,
        size="2",
        weight="medium",
        underline="none",
        color=cond_value(current, rx.color("accent", 11), rx.color("gray", 11)),
        padding_x="0.75rem",
        padding_y="0.5rem",
        border_bottom=cond_value(
            current, f"2px solid {rx.color('accent', 9)}", "2px solid transparent"
        ),
        custom_attrs={"aria-current": cond_value(current, "page", "false")},
        id=f"tutor-nav-{key}",
        white_space="nowrap",
    )


def tutor_nav() -> rx.Component:
    """The four portal pages as tabs; scrolls sideways on a narrow phone."""
    return rx.el.nav(
        rx.hstack(*[_tab(*link) for link in TUTOR_LINKS], spacing="1"),
        aria_label="Tutor portal",
        id="tutor-nav",
        width="100%",
        overflow_x="auto",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
    )


def tutor_editor_page(
    *, loaded: rx.Var[bool] | bool, found: rx.Var[bool] | bool, heading: str,
    editor: rx.Component,
    placeholder_height: str,
) -> rx.Component:
    """A tutor's settings page: placeholders while loading, then the heading and `editor`, or
    the missing-page message for anybody the page is not for (it must look like any 404)."""
    return page_layout(
        rx.cond(
            loaded,
            rx.cond(
                found,
                rx.vstack(rx.heading(heading, as_="h1", size="7"), editor, spacing="4",
                          width="100%"),
                missing_page_message(id="tutor-portal-not-found"),
            ),
            loading_placeholder(*[rx.box(height=placeholder_height, width="100%")
                                  for _ in range(3)], spacing="4"),
        ),
    )
