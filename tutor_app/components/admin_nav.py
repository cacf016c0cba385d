"""The admin portal's navigation and page shell (render only).

Ids for the browser tests: `#admin-nav`, `#admin-nav-<key>`; a visitor who is not an admin
sees the ordinary 404 message (`#admin-not-found`), never the portal's frame.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components.section_tabs import Tab, portal_page, section_tabs
from tutor_app.core import routes

ADMIN_LINKS: tuple[Tab, ...] = (
    ("overview", "Overview", routes.ADMIN_PORTAL),
    ("bookings", "Bookings", routes.ADMIN_BOOKINGS),
    ("tutors", "Tutors", routes.ADMIN_TUTORS),
    ("users", "Users", routes.ADMIN_USERS),
    ("payments", "Payments", routes.ADMIN_PAYMENTS),
    ("audit", "Audit log", routes.ADMIN_AUDIT),
)


def admin_nav() -> rx.Component:
    """The portal's sections as tabs; scrolls sideways on a narrow screen."""
    return section_tabs(ADMIN_LINKS, name="admin-nav", label="Admin portal")


def admin_page(
    *, loaded: rx.Var[bool] | bool, allowed: rx.Var[bool] | bool, heading: rx.Var[str] | str,
    body: rx.Component,
) -> rx.Component:
    """An admin page: placeholders while loading, then the heading, the tabs and `body`; the
    ordinary 404 message for anybody who is not an admin."""
    return portal_page(admin_nav(), body, loaded=loaded, allowed=allowed, heading=heading,
                       not_found_id="admin-not-found", placeholder_height="8rem",
                       spacing="5", max_width="72rem")
