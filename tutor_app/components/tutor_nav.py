"""The tutor portal's own navigation: Lessons, Profile, Availability, Earnings (render only).

Shown at the top of every `/tutor...` page, under the page's heading. The current page's link
is marked (`aria-current="page"`), as in the top bar. Ids for the browser tests:
`#tutor-nav` and `#tutor-nav-<lessons|profile|availability|earnings>`.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components.section_tabs import Tab, portal_page, section_tabs
from tutor_app.core import routes

TUTOR_LINKS: tuple[Tab, ...] = (
    ("lessons", "Lessons", routes.TUTOR_PORTAL),
    ("profile", "Profile", routes.TUTOR_PROFILE),
    ("availability", "Availability", routes.TUTOR_AVAILABILITY),
    ("earnings", "Earnings", routes.TUTOR_EARNINGS),
)


def tutor_nav() -> rx.Component:
    """The four portal pages as tabs; scrolls sideways on a narrow phone."""
    return section_tabs(TUTOR_LINKS, name="tutor-nav", label="Tutor portal")


def tutor_editor_page(
    *, loaded: rx.Var[bool] | bool, found: rx.Var[bool] | bool, heading: str,
    editor: rx.Component,
    placeholder_height: str,
) -> rx.Component:
    """A tutor's settings page: placeholders while loading, then the heading and `editor`, or
    the missing-page message for anybody the page is not for (it must look like any 404)."""
    return portal_page(editor, loaded=loaded, allowed=found, heading=heading,
                       not_found_id="tutor-portal-not-found",
                       placeholder_height=placeholder_height, spacing="4")
