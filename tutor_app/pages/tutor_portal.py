"""`/tutor`: a tutor's portal: their lessons (upcoming and past, filtered), the actions on
them, and their Google Calendar connection. An admin opens any tutor's with `?tutor=<id>`;
anyone else sees the not-found page.

Ids the browser tests use: `#calendar-status` (text "Connected as x@y", "Reconnect needed" or
"Not connected"), `#connect-calendar` (a link to `/api/calendar/connect` the browser loads as
a new document: OAuth needs a full page load), `#disconnect-calendar` (a native form POST),
`#tutor-lessons` with `#upcoming-lessons` and `#past-lessons`, per lesson `#lesson-<booking id>`
with `.sync-status`, `.lesson-status`, `#cancel-lesson-<id>`, `#attended-<id>` and
`#no-show-<id>`; the filter form `#lesson-filters` (`#filter-status`, `#filter-from`,
`#filter-to`, `#apply-filters`, `#clear-filters`); the cancel dialog `#tutor-cancel-dialog`
(`#cancel-reason`, `#confirm-tutor-cancel`); `#lessons-notice`, `#lessons-error`;
`#portal-not-found`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.constants.colors import ColorType
from reflex.vars import Var
from reflex_components_core.react_router.dom import ReactRouterLink

from tutor_app.components import style
from tutor_app.components.layout import native_post_form, page_layout
from tutor_app.components.not_found import missing_page_message
from tutor_app.components.tutor_nav import tutor_nav
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error
from tutor_app.state.tutor_lessons import STATUS_CHOICES, TutorLessonsState
from tutor_app.state.typed import Row, array, cond_value, flag, handler, page

T = TutorLessonsState
CONNECT_URL = "/api/calendar/connect"
DISCONNECT_URL = "/api/calendar/disconnect"
_INPUT_STYLE = {
    "padding": "0.375rem 0.625rem",
    "border": f"1px solid {rx.color('gray', 7)}",
    "border_radius": "var(--radius-3)",
    "background": style.SURFACE,
    "font_size": "0.9rem",
}


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


# --- lessons ---------------------------------------------------------------------------------


def _badge(text: Var[Any], color: Var[Any], class_name: str) -> rx.Component:
    return rx.badge(
        text,
        # Radix types colour schemes as literals; the state sends one.
        color_scheme=color.to(str),  # type: ignore[arg-type]
        variant="soft",
        class_name=class_name,
    )


def _student_cell(lesson: Row) -> rx.Component:
    return rx.vstack(
        rx.text(lesson["student_name"], size="2", weight="medium", class_name="student-name"),
        rx.cond(
            lesson["student_email"].to(str) != "",
            rx.text(lesson["student_email"], size="1", color=style.MUTED_TEXT,
                    class_name="student-email"),
        ),
        rx.cond(
            lesson["note"].to(str) != "",
            rx.text("Note: ", lesson["note"], size="1", class_name="student-note",
                    white_space="pre-wrap"),
        ),
        spacing="0",
        align="start",
        max_width="22rem",
    )


def _status_cell(lesson: Row) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _badge(lesson["status"], lesson["status_color"], "lesson-status"),
            rx.cond(
                lesson["attendance_label"].to(str) != "",
                _badge(lesson["attendance_label"],
                       cond_value(lesson["attendance"].to(str) == "attended", "blue", "amber"),
                       "lesson-attendance"),
            ),
            spacing="1",
            wrap="wrap",
        ),
        rx.cond(
            lesson["cancel_line"].to(str) != "",
            rx.text(lesson["cancel_line"], size="1", color=style.MUTED_TEXT,
                    class_name="lesson-cancel-line"),
        ),
        rx.cond(
            lesson["refund"].to(str) != "",
            rx.text(lesson["refund"], size="1", color=rx.color("red", 11),
                    class_name="lesson-refund"),
        ),
        spacing="1",
        align="start",
    )


def _sync_cell(lesson: Row) -> rx.Component:
    return rx.vstack(
        _badge(lesson["sync_label"], lesson["sync_color"], "sync-status"),
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
    )


def _cancel_button(lesson: Row) -> rx.Component:
    booking_id = lesson["id"].to(str)
    return rx.cond(
        lesson["can_cancel"].to(bool),
        rx.button(
            rx.icon("x", size=14, aria_hidden="true"),
            "Cancel",
            on_click=handler(T.open_cancel)(booking_id),
            variant="soft",
            color_scheme="red",
            size="1",
            id="cancel-lesson-" + booking_id,
        ),
    )


def _mark_button(lesson: Row, value: str, label: str, button_id: str) -> rx.Component:
    booking_id = lesson["id"].to(str)
    chosen = lesson["attendance"].to(str) == value
    return rx.button(
        label,
        on_click=handler(T.mark)(booking_id, value),
        variant=cond_value(chosen, "solid", "outline"),
        size="1",
        loading=T.marking_id == booking_id,
        id=button_id + booking_id,
        custom_attrs={"aria-pressed": cond_value(chosen, "true", "false")},
    )


def _mark_buttons(lesson: Row) -> rx.Component:
    return rx.cond(
        lesson["can_mark"].to(bool),
        rx.hstack(
            _mark_button(lesson, "attended", "Attended", "attended-"),
            _mark_button(lesson, "no_show", "No-show", "no-show-"),
            spacing="2",
        ),
    )


def _upcoming_row(lesson: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(lesson["when"]),
        rx.table.cell(_student_cell(lesson)),
        rx.table.cell(rx.text(lesson["length"], " · ", lesson["price"], size="2")),
        rx.table.cell(_status_cell(lesson)),
        rx.table.cell(_sync_cell(lesson)),
        rx.table.cell(_cancel_button(lesson)),
        id="lesson-" + lesson["id"].to(str),
        class_name="tutor-lesson",
    )


def _past_row(lesson: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(lesson["when"]),
        rx.table.cell(_student_cell(lesson)),
        rx.table.cell(rx.text(lesson["length"], " · ", lesson["price"], size="2")),
        rx.table.cell(_status_cell(lesson)),
        rx.table.cell(_mark_buttons(lesson)),
        id="lesson-" + lesson["id"].to(str),
        class_name="tutor-lesson",
    )


def _table(rows: list[Any], render: Any, headers: list[str], empty: str, empty_id: str
           ) -> rx.Component:
    return rx.cond(
        array(rows).length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(rows, render)),
                variant="surface",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.text(empty, size="2", color=style.MUTED_TEXT, id=empty_id),
    )


def _status_option(choice: tuple[str, str]) -> rx.Component:
    value, label = choice
    return rx.el.option(label, value=value)


def _date_field(label: str, name: str, value: Var[str] | str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"filter-{name}", font_size="0.8rem", font_weight="500"),
        rx.el.input(type="date", id=f"filter-{name}", name=name, default_value=value,
                    key=value, style=_INPUT_STYLE),
        spacing="1",
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.el.label("Status", html_for="filter-status", font_size="0.8rem",
                                font_weight="500"),
                    rx.el.select(
                        *[_status_option(c) for c in STATUS_CHOICES],
                        id="filter-status",
                        name="status",
                        default_value=T.filter_status,
                        key=T.filter_status,
                        style=_INPUT_STYLE,
                    ),
                    spacing="1",
                ),
                _date_field("From", "from", T.filter_from),
                _date_field("To", "to", T.filter_to),
                rx.button("Show", type="submit", size="2", id="apply-filters"),
                rx.button("Clear", type="button", size="2", variant="soft", color_scheme="gray",
                          on_click=T.clear_filters, id="clear-filters"),
                spacing="3",
                align="end",
                wrap="wrap",
            ),
            field_error(T.filter_error, "filter-error"),
            rx.text("Days are read in ", T.zone_label, ".", size="1", color=style.MUTED_TEXT),
            spacing="2",
            width="100%",
        ),
        on_submit=T.apply_filters,
        no_validate=True,
        id="lesson-filters",
        width="100%",
    )


def _lessons_messages() -> rx.Component:
    return rx.fragment(
        rx.cond(
            T.lessons_notice != "",
            rx.callout(T.lessons_notice, icon="circle_check", color_scheme="green",
                       id="lessons-notice", role="status", width="100%"),
        ),
        rx.cond(
            T.lessons_error != "",
            rx.callout(T.lessons_error, icon="triangle_alert", color_scheme="red",
                       id="lessons-error", role="alert", width="100%"),
        ),
    )


def _lessons() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Lessons", as_="h2", size="5"),
            _filters(),
            _lessons_messages(),
            rx.el.section(
                rx.heading("Upcoming", as_="h3", size="4", margin_bottom="0.5rem"),
                _table(T.upcoming, _upcoming_row,
                       ["When", "Student", "Lesson", "Status", "Calendar", ""],
                       "No upcoming lessons.", "no-lessons"),
                id="upcoming-lessons",
                width="100%",
            ),
            rx.el.section(
                rx.heading("Past", as_="h3", size="4", margin_bottom="0.5rem"),
                _table(T.past, _past_row, ["When", "Student", "Lesson", "Status", "Attendance"],
                       "No past lessons.", "no-past-lessons"),
                id="past-lessons",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        id="tutor-lessons",
        width="100%",
    )


def _cancel_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Cancel this lesson?"),
            rx.form(
                rx.vstack(
                    rx.text(T.cancel_lesson_label, size="2", weight="medium"),
                    rx.text("The student is refunded in full and gets an email with your "
                            "reason.", size="2"),
                    rx.el.label("Reason (the student reads it)", html_for="cancel-reason",
                                font_size="0.875rem", font_weight="500"),
                    rx.text_area(id="cancel-reason", name="reason", rows="3", width="100%",
                                 max_length=500,
                                 custom_attrs={"aria-describedby": "cancel-reason-error"}),
                    field_error(T.cancel_reason_error, "cancel-reason-error"),
                    field_error(T.cancel_error, "tutor-cancel-error"),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Keep lesson", type="button", variant="soft",
                                      color_scheme="gray", disabled=T.canceling)),
                        rx.button(
                            cond_value(T.canceling, "Canceling…", "Cancel and refund"),
                            type="submit",
                            color_scheme="red",
                            loading=T.canceling,
                            id="confirm-tutor-cancel",
                        ),
                        spacing="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=T.confirm_cancel,
                no_validate=True,
                width="100%",
            ),
            max_width="30rem",
            id="tutor-cancel-dialog",
        ),
        open=flag(T.cancel_open),
        on_open_change=handler(T.set_cancel_open),
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
    return rx.vstack(
        rx.heading(
            cond_value(T.own_portal, "Your tutor account", "Tutor: " + T.portal_tutor_name),
            as_="h1", size="7",
        ),
        tutor_nav(),
        rx.cond(T.own_portal, rx.vstack(_notice(), _calendar_card(), spacing="4",
                                        width="100%")),
        _lessons(),
        _cancel_dialog(),
        spacing="5",
        width="100%",
    )


@page(route=routes.TUTOR_PORTAL, title=f"Tutor account · {PRODUCT_NAME}", on_load=T.load_page)
def tutor_portal() -> rx.Component:
    return page_layout(
        rx.cond(
            T.loaded,
            rx.cond(
                T.portal_found,
                _portal(),
                rx.cond(
                    T.is_tutor & ~flag(T.tutor_linked),
                    rx.text("Your account is not linked to a tutor profile yet. Please "
                            "contact us.", id="not-linked"),
                    missing_page_message(id="portal-not-found"),
                ),
            ),
            rx.skeleton(rx.box(height="8rem", width="100%"), loading=True),
        ),
    )
