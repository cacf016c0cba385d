"""The admin portal's navigation and page shell (render only).

Ids for the browser tests: `#admin-nav`, `#admin-nav-<key>`; a visitor who is not an admin
sees the ordinary 404 message (`#admin-not-found`), never the portal's frame.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components.layout import loading_placeholder, page_layout
from tutor_app.components.not_found import missing_page_message
from tutor_app.core import routes
from tutor_app.state.typed import cond_value

ADMIN_LINKS: tuple[tuple[str, str, str], ...] = (
    ("overview", "Overview", routes.ADMIN_PORTAL),
    ("bookings", "Bookings", routes.ADMIN_BOOKINGS),
    ("tutors", "Tutors", routes.ADMIN_TUTORS),
    ("users", "Users", routes.ADMIN_USERS),
    ("payments", "Payments", routes.ADMIN_PAYMENTS),
    ("audit", "Audit log", routes.ADMIN_AUDIT),
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
        id=f"admin-nav-{key}",
        white_space="nowrap",
    )


def admin_nav() -> rx.Component:
    """The portal's sections as tabs; scrolls sideways on a narrow screen."""
    return rx.el.nav(
        rx.hstack(*[_tab(*link) for link in ADMIN_LINKS], spacing="1"),
        aria_label="Admin portal",
        id="admin-nav",
        width="100%",
        overflow_x="auto",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
    )


def admin_page(
    *, loaded: rx.Var[bool] | bool, allowed: rx.Var[bool] | bool, heading: rx.Var[str] | str,
    body: rx.Component,
) -> rx.Component:
    """An admin page: placeholders while loading, then the heading, the tabs and `body`; the
    ordinary 404 message for anybody who is not an admin."""
    return page_layout(
        rx.cond(
            loaded,
            rx.cond(
                allowed,
                rx.vstack(rx.heading(heading, as_="h1", size="7"), admin_nav(), body,
                          spacing="5", width="100%"),
                missing_page_message(id="admin-not-found"),
            ),
            loading_placeholder(*[rx.box(height="8rem", width="100%") for _ in range(3)],
                                spacing="4"),
        ),
        max_width="72rem",
    )
