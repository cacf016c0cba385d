"""`/admin/payments`: payments health, with reconciliation and the retries.

Ids for the browser tests: `#action-reason`, `#run-reconcile`, `#action-result`,
`#action-error`, `#webhook-events` (`.webhook-event` rows, `data-status`), `#owed-refunds`
(`.retry-refund`), `#failed-emails` (`.retry-email`), `#failed-syncs` (`.retry-sync`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from reflex.vars import ArrayVar

from tutor_app.components import style
from tutor_app.components.admin_nav import admin_page
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error
from tutor_app.state.admin_payments import AdminPaymentsState
from tutor_app.state.typed import Row, array, handler, page

P = AdminPaymentsState
TIMES_NOTE = "Times are in UTC."


def _table(table_id: str, title: str, headers: tuple[str, ...], items: ArrayVar[list[Any]],
           render: Callable[[Row], rx.Component], empty: str) -> rx.Component:
    return rx.vstack(
        rx.heading(title, as_="h2", size="4"),
        rx.cond(
            items.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h)
                                                   for h in headers])),
                    rx.table.body(rx.foreach(items, render)),
                    variant="surface", size="1", width="100%",
                ),
                overflow_x="auto", width="100%",
            ),
            rx.text(empty, size="2", color=style.MUTED_TEXT),
        ),
        spacing="2", width="100%", id=table_id,
    )


def _retry(label_class: str, on_click: EventSpec) -> rx.Component:
    return rx.button("Retry", size="1", variant="soft", class_name=label_class,
                     on_click=on_click, disabled=P.busy)


def _event_row(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["at"]), rx.table.cell(row["type"]),
        rx.table.cell(rx.code(row["event_id"])), rx.table.cell(row["object_id"]),
        rx.table.cell(row["status"]), rx.table.cell(row["error"]),
        class_name="webhook-event", custom_attrs={"data-status": row["status"].to(str)},
    )


def _refund_row(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["booking_id"],
                              href=routes.ADMIN_BOOKINGS + "/" + row["booking_id"].to(str))),
        rx.table.cell(row["amount"]), rx.table.cell(row["reason"]),
        rx.table.cell(row["since"]), rx.table.cell(row["status"]),
        rx.table.cell(_retry("retry-refund", handler(P.retry_refund)(row["booking_id"].to(str)))),
    )


def _mail_row(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["booking_id"],
                              href=routes.ADMIN_BOOKINGS + "/" + row["booking_id"].to(str))),
        rx.table.cell(row["kind"]), rx.table.cell(row["attempts"]),
        rx.table.cell(row["error"]),
        rx.table.cell(_retry("retry-email",
                             handler(P.retry_notification)(row["notification_id"].to(str)))),
    )


def _sync_row(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["booking_id"],
                              href=routes.ADMIN_BOOKINGS + "/" + row["booking_id"].to(str))),
        rx.table.cell(row["tutor_id"]), rx.table.cell(row["start"]),
        rx.table.cell(row["error"]),
        rx.table.cell(_retry("retry-sync", handler(P.retry_sync)(row["booking_id"].to(str)))),
    )


def _actions() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.el.label("Reason for the next action (it goes into the audit log)",
                        html_for="action-reason", font_size="0.85rem", font_weight="500"),
            rx.hstack(
                rx.input(value=P.reason, on_change=P.set_reason, id="action-reason",
                         placeholder="e.g. the webhook endpoint was down", width="24rem",
                         max_length=500),
                rx.button("Run reconciliation now", on_click=P.run_reconciliation,
                          loading=P.busy, id="run-reconcile"),
                spacing="3", wrap="wrap",
            ),
            field_error(P.error, "action-error"),
            rx.cond(P.result != "", rx.callout(P.result, id="action-result", size="1")),
            spacing="2", width="100%",
        ),
        width="100%",
    )


def _body() -> rx.Component:
    return rx.vstack(
        _actions(),
        rx.text(TIMES_NOTE, size="2", color=style.MUTED_TEXT),
        _table("webhook-events", "Stripe events received",
               ("Received", "Type", "Event", "Object", "Status", "Error"), array(P.events),
               _event_row, "No events yet."),
        _table("owed-refunds", "Refunds pending or failed",
               ("Booking", "Amount", "Reason", "Since", "Status", ""), array(P.refunds),
               _refund_row, "No refund is owed."),
        _table("failed-emails", "Emails that failed",
               ("Booking", "Email", "Attempts", "Error", ""), array(P.mails), _mail_row,
               "No failed emails."),
        _table("failed-syncs", "Calendar syncs that failed",
               ("Booking", "Tutor", "Lesson", "Error", ""), array(P.syncs), _sync_row,
               "No failed calendar syncs."),
        spacing="5", width="100%",
    )


@page(route=routes.ADMIN_PAYMENTS, title=f"Payments health · {PRODUCT_NAME}", on_load=P.load)
def admin_payments() -> rx.Component:
    return admin_page(loaded=P.loaded, allowed=P.allowed, heading="Payments health",
                      body=_body())
