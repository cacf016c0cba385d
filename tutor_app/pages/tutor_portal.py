"""`/tutor`: a tutor's account: Google Calendar connection and upcoming lessons with sync status.

Ids the browser tests use: `#calendar-status` (text "Connected as x@y", "Reconnect needed" or
"Not connected"), `#connect-calendar` (a link to `/api/calendar/connect` the browser loads as
a new document: OAuth needs a full page load), `#disconnect-calendar` (a native form POST),
`#tutor-lessons`, and per lesson `#lesson-<booking id>` with `.sync-status`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.constants.colors import ColorType
from reflex_components_core.react_router.dom import ReactRouterLink

from tutor_app.components import style
from tutor_app.components.layout import native_post_form, page_layout
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.tutor_account import TutorAccountState
from tutor_app.state.typed import Row, array, handler, page

T = TutorAccountState
CONNECT_URL = "/api/calendar/connect"
DISCONNECT_URL = "/api/calendar/disconnect"


def _connect_button(label: str) -> rx.Component:
    """A link styled as a button that the browser follows itself (`reloadDocument`).

    `rx.el.a` is React Router's Link in Reflex 0.10: without `reload_document` the click is
    routed client-side, never reaches the API route, and shows the 404 page.
    """
    return rx.button(
        ReactRouterLink.create(
            rx.icon("calendar-plus", size=16, aria_hidden="true"),
            label,
            to=CONNECT_URL,
            reload_document=True,
            id="connect-calendar",
        ),
        as_child=True,
        size="3",
    )


def _status_line(icon: str, color: ColorType, text: Any) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=18, color=rx.color(color, 11), aria_hidden="true"),
        rx.text(text, id="calendar-status", size="3", weight="medium"),
        spacing="2",
        align="center",
    )


def _connected() -> rx.Component:
    return rx.vstack(
        _status_line("circle-check", "green", "Connected as " + T.google_email),
        rx.text(
            "New lessons appear in your Google Calendar with the student as a guest; "
            "reschedules move them and cancellations remove them.",
            size="2",
            color=style.MUTED_TEXT,
        ),
        native_post_form(
            rx.button("Disconnect", type="submit", variant="soft", color_scheme="red",
                      id="disconnect-calendar"),
            action=DISCONNECT_URL,
        ),
        spacing="3",
        align="start",
    )


def _reconnect_needed() -> rx.Component:
    return rx.vstack(
        rx.callout(
            rx.text(
                rx.text("Reconnect needed", as_="span", id="calendar-status", weight="bold"),
                " \u2014 Google no longer accepts the connection to ",
                T.google_email,
                ". New lessons are not added to your calendar until you reconnect.",
            ),
            icon="triangle_alert",
            color_scheme="amber",
            role="alert",
            width="100%",
        ),
        rx.hstack(
            _connect_button("Reconnect Google Calendar"),
            native_post_form(
                rx.button("Disconnect", type="submit", variant="soft", color_scheme="gray",
                          size="3", id="disconnect-calendar"),
                action=DISCONNECT_URL,
            ),
            spacing="3",
            wrap="wrap",
        ),
        spacing="3",
        align="start",
        width="100%",
    )


def _disconnected() -> rx.Component:
    return rx.vstack(
        _status_line("calendar-x", "gray", "Not connected"),
        rx.text(
            "Connect your Google Calendar to have every lesson added to it automatically, "
            "and to keep students from booking times you are busy.",
            size="2",
            color=style.MUTED_TEXT,
        ),
        rx.cond(
            T.calendar_configured,
            _connect_button("Connect Google Calendar"),
            rx.text("Google Calendar is not set up on this site yet.", size="2",
                    color=style.MUTED_TEXT, id="calendar-unavailable"),
        ),
        spacing="3",
        align="start",
    )


def _calendar_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Google Calendar", as_="h2", size="5"),
            rx.match(
                T.calendar_status,
                ("connected", _connected()),
                ("reconnect_needed", _reconnect_needed()),
                _disconnected(),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
        id="calendar-card",
    )


def _lesson_row(lesson: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(lesson["when"]),
        rx.table.cell(lesson["student"]),
        rx.table.cell(lesson["status"]),
        rx.table.cell(
            rx.vstack(
                rx.badge(
                    lesson["sync_label"],
                    color_scheme=lesson["sync_color"].to(str),  # type: ignore[arg-type]
                    variant="soft",
                    class_name="sync-status",
                    custom_attrs={"data-sync": lesson["sync"]},
                ),
                rx.cond(
                    lesson["sync_error"] != "",
                    rx.text(lesson["sync_error"], size="1", color=rx.color("red", 11),
                            class_name="sync-error"),
                ),
                rx.cond(
                    lesson["can_retry"].to(bool),
                    rx.button(
                        "Sync now",
                        size="1",
                        variant="outline",
                        loading=T.syncing_id == lesson["id"].to(str),
                        on_click=handler(T.sync_now)(lesson["id"].to(str)),
                    ),
                ),
                spacing="1",
                align="start",
            ),
        ),
        id="lesson-" + lesson["id"].to(str),
    )


def _lessons() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Upcoming lessons", as_="h2", size="5"),
            rx.cond(
                array(T.lessons).length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("When (your time zone)"),
                            rx.table.column_header_cell("Student"),
                            rx.table.column_header_cell("Lesson"),
                            rx.table.column_header_cell("Calendar"),
                        )
                    ),
                    rx.table.body(rx.foreach(T.lessons, _lesson_row)),
                    variant="surface",
                    width="100%",
                ),
                rx.text("No upcoming lessons yet.", size="2", color=style.MUTED_TEXT,
                        id="no-lessons"),
            ),
            spacing="3",
            width="100%",
        ),
        id="tutor-lessons",
        width="100%",
    )


def _notice() -> rx.Component:
    return rx.cond(
        T.notice != "",
        rx.cond(
            T.notice_is_error,
            rx.callout(T.notice, icon="triangle_alert", color_scheme="red", role="alert",
                       id="calendar-notice", width="100%"),
            rx.callout(T.notice, icon="circle_check", color_scheme="green",
                       id="calendar-notice", width="100%"),
        ),
    )


def _portal() -> rx.Component:
    return rx.cond(
        T.tutor_linked,
        rx.vstack(_notice(), _calendar_card(), _lessons(), spacing="6", width="100%"),
        rx.text("Your account is not linked to a tutor profile yet. Please contact us.",
                id="not-linked"),
    )


@page(route=routes.TUTOR_PORTAL, title=f"Tutor account · {PRODUCT_NAME}", on_load=T.load)
def tutor_portal() -> rx.Component:
    return page_layout(
        rx.vstack(
            rx.heading("Your tutor account", as_="h1", size="7"),
            rx.cond(
                T.loaded,
                rx.cond(
                    T.is_tutor,
                    _portal(),
                    rx.text("This page is for tutors.", id="not-a-tutor"),
                ),
                rx.skeleton(rx.box(height="8rem", width="100%"), loading=True),
            ),
            spacing="5",
            width="100%",
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )
