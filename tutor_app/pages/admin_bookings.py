"""`/admin/bookings` (the table, its filters and CSV export) and `/admin/bookings/[booking_id]`
(one booking's facts, timeline and actions). Render only; see `state/admin_bookings.py`."""

from __future__ import annotations

from typing import Literal

import reflex as rx
from reflex.vars import Var

from tutor_app.components import style
from tutor_app.components.admin_nav import admin_page
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error
from tutor_app.state.admin_bookings import (
    PAID_CHOICES,
    SORT_CHOICES,
    STATUS_CHOICES,
    AdminBookingsState,
    AdminBookingState,
)
from tutor_app.state.typed import Row, array, cond_value, flag, handler, page

T = AdminBookingsState
B = AdminBookingState

_INPUT_STYLE = {
    "padding": "0.375rem 0.625rem",
    "border": f"1px solid {rx.color('gray', 7)}",
    "border_radius": "var(--radius-3)",
    "background": style.SURFACE,
    "font_size": "0.9rem",
}


def _labelled(label: str, control: rx.Component, for_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=for_id, font_size="0.8rem", font_weight="500"),
        control, spacing="1",
    )


def _select(name: str, choices: tuple[tuple[str, str], ...], value: Var[str] | str
            ) -> rx.Component:
    return rx.el.select(*[rx.el.option(label, value=v) for v, label in choices],
                        id=f"admin-filter-{name}", name=name, default_value=value, key=value,
                        style=_INPUT_STYLE)


def _input(name: str, value: Var[str] | str, kind: Literal["text", "email", "date"] = "text",
           placeholder: str = "") -> rx.Component:
    return rx.el.input(type=kind, id=f"admin-filter-{name}", name=name, default_value=value,
                       key=value, placeholder=placeholder, style=_INPUT_STYLE)


def _tutor_option(choice: Row) -> rx.Component:
    return rx.el.option(choice["name"], value=choice["id"])


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            _labelled("Search", _input("q", T.f_q, placeholder="Email or booking id"),
                      "admin-filter-q"),
            _labelled("Status", _select("status", STATUS_CHOICES, T.f_status),
                      "admin-filter-status"),
            _labelled("Tutor", rx.el.select(
                rx.el.option("Any tutor", value=""), rx.foreach(T.tutors, _tutor_option),
                id="admin-filter-tutor", name="tutor", default_value=T.f_tutor, key=T.f_tutor,
                style=_INPUT_STYLE), "admin-filter-tutor"),
            _labelled("Student email", _input("email", T.f_email, "email"),
                      "admin-filter-email"),
            _labelled("From", _input("from", T.f_from, "date"), "admin-filter-from"),
            _labelled("To", _input("to", T.f_to, "date"), "admin-filter-to"),
            _labelled("Paid / free", _select("paid", PAID_CHOICES, T.f_paid),
                      "admin-filter-paid"),
            _labelled("Sort by", _select("sort", SORT_CHOICES, T.f_sort), "admin-filter-sort"),
            _labelled("Order", _select("dir", (("desc", "Newest first"),
                                               ("asc", "Oldest first")), T.f_dir),
                      "admin-filter-dir"),
            rx.button("Show", type="submit", size="2", id="admin-filter-apply"),
            spacing="3", align="end", wrap="wrap",
        ),
        on_submit=T.apply_filters,
        no_validate=True,
        id="admin-booking-filters",
        width="100%",
    )


def _row(b: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(b["when"], href=b["url"], class_name="admin-booking-link")),
        rx.table.cell(b["tutor"]),
        rx.table.cell(b["student"], class_name="admin-booking-student"),
        rx.table.cell(b["kind"]),
        rx.table.cell(b["status"]),
        rx.table.cell(b["price"]),
        rx.table.cell(b["refunded"]),
        class_name="admin-booking-row",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button("Previous", size="1", variant="soft", disabled=T.page <= 1,
                  on_click=handler(T.go_to_page)(T.page - 1), id="admin-page-prev"),
        rx.text("Page ", T.page, " of ", T.pages, size="2"),
        rx.button("Next", size="1", variant="soft", disabled=T.page >= T.pages,
                  on_click=handler(T.go_to_page)(T.page + 1), id="admin-page-next"),
        spacing="3", align="center",
    )


def _table_body() -> rx.Component:
    return rx.vstack(
        _filters(),
        rx.hstack(
            rx.text(T.count_label, size="2", id="admin-booking-count"),
            rx.link("Export CSV", href=T.csv_url, id="admin-bookings-csv", is_external=True),
            spacing="4", align="center",
        ),
        rx.text("Days and times are in ", T.viewer_tz, ".", size="1", color=style.MUTED_TEXT,
                id="admin-bookings-zone"),
        rx.cond(
            array(T.rows).length() > 0,
            rx.box(rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                    "When", "Tutor", "Student", "Kind", "Status", "Price", "Refunded")])),
                rx.table.body(rx.foreach(T.rows, _row)),
                variant="surface", width="100%",
            ), overflow_x="auto", width="100%"),
            rx.text("No bookings match.", size="2", color=style.MUTED_TEXT,
                    id="admin-no-bookings"),
        ),
        _pager(),
        spacing="4", width="100%",
    )


@page(route=routes.ADMIN_BOOKINGS, title=f"Bookings · Admin · {PRODUCT_NAME}",
      on_load=T.load_page)
def admin_bookings() -> rx.Component:
    return admin_page(loaded=T.loaded, allowed=T.allowed, heading="Bookings", body=_table_body())


# --- one booking ---------------------------------------------------------------------------


def _fact(fact: Row) -> rx.Component:
    return rx.table.row(rx.table.row_header_cell(fact["label"]), rx.table.cell(fact["value"]))


def _entry(e: Row) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text(e["at"], size="1", color=style.MUTED_TEXT),
            rx.badge(e["source"], size="1"),
            rx.text(e["actor"], size="1", color=style.MUTED_TEXT),
            spacing="2",
        ),
        rx.text(e["title"], size="2", weight="medium"),
        rx.text(e["detail"], size="1", class_name="admin-timeline-detail"),
        class_name="admin-timeline-entry",
        padding_y="0.4rem",
        border_bottom=style.SUBTLE_BORDER,
        width="100%",
    )


def _action_button(key: str, label: str, when: Var[bool] | bool = True) -> rx.Component:
    return rx.cond(when, rx.button(label, size="2", variant="soft",
                                   on_click=handler(B.open_action)(key),
                                   id=f"admin-action-{key.replace('_', '-')}"))


def _actions() -> rx.Component:
    return rx.hstack(
        _action_button("cancel", "Cancel…", B.can_cancel),
        _action_button("refund", "Refund…", B.refundable_cents > 0),
        _action_button("reschedule", "Reschedule…", B.can_cancel),
        _action_button("attended", "Attended…", B.can_mark),
        _action_button("no_show", "No-show…", B.can_mark),
        _action_button("resend", "Resend confirmation…", B.can_mark),
        spacing="2", wrap="wrap",
    )


def _amount_field() -> rx.Component:
    return rx.vstack(
        rx.el.label("Amount to refund", html_for="admin-action-amount", font_size="0.875rem",
                    font_weight="500"),
        rx.el.input(id="admin-action-amount", name="amount", inputmode="decimal",
                    placeholder="30.00", style=_INPUT_STYLE, key=B.action),
        rx.text("Up to ", B.refundable, " is left to refund. Half the price is ", B.half, ".",
                size="1", color=style.MUTED_TEXT),
        spacing="1", width="100%",
    )


def _action_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(B.action_title),
            rx.form(
                rx.vstack(
                    rx.cond((B.action == "cancel") | (B.action == "refund"), _amount_field()),
                    rx.cond(B.action == "reschedule", rx.vstack(
                        rx.el.label("New start (", B.viewer_tz, ")", html_for="admin-action-start",
                                    font_size="0.875rem", font_weight="500"),
                        rx.el.input(type="datetime-local", id="admin-action-start",
                                    name="start", style=_INPUT_STYLE),
                        spacing="1")),
                    rx.el.label("Reason (kept in the audit log)", html_for="admin-action-reason",
                                font_size="0.875rem", font_weight="500"),
                    rx.text_area(id="admin-action-reason", name="reason", rows="3",
                                 width="100%", max_length=500),
                    field_error(B.action_error, "admin-action-error"),
                    rx.hstack(
                        rx.dialog.close(rx.button("Back", type="button", variant="soft",
                                                  color_scheme="gray", disabled=B.working)),
                        rx.button(cond_value(B.working, "Working…", "Confirm"), type="submit",
                                  loading=B.working, id="admin-action-submit"),
                        spacing="3", justify="end", width="100%",
                    ),
                    spacing="3", width="100%",
                ),
                on_submit=B.submit_action,
                no_validate=True,
                width="100%",
            ),
            max_width="30rem",
            id="admin-action-dialog",
        ),
        open=flag(B.action != ""),
        on_open_change=handler(B.set_action_open),
    )


def _booking_body() -> rx.Component:
    return rx.cond(
        B.found,
        rx.vstack(
            rx.link("← All bookings", href=routes.ADMIN_BOOKINGS, size="2"),
            rx.cond(B.notice != "", rx.callout(B.notice, icon="circle_check",
                                               color_scheme="green", id="admin-booking-notice",
                                               role="status", width="100%")),
            rx.table.root(rx.table.body(rx.foreach(B.facts, _fact)), variant="surface",
                          width="100%", id="admin-booking-facts"),
            _actions(),
            rx.heading("Timeline", as_="h2", size="4"),
            rx.text("Times are in ", B.viewer_tz, ", oldest first.", size="1",
                    color=style.MUTED_TEXT),
            rx.vstack(rx.foreach(B.timeline, _entry), spacing="0", width="100%",
                      id="admin-timeline"),
            _action_dialog(),
            spacing="4", width="100%",
        ),
        rx.text("We couldn't find that booking.", id="admin-booking-missing"),
    )


@page(route=routes.ADMIN_BOOKING, title=f"Booking · Admin · {PRODUCT_NAME}",
      on_load=B.load_page)
def admin_booking() -> rx.Component:
    return admin_page(loaded=B.loaded, allowed=B.allowed, heading="Booking",
                      body=_booking_body())
