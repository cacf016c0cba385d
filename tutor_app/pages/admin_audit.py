"""`/admin/audit`: the audit log, newest first, filtered, a page at a time.

Ids the browser tests use: `#audit-filters`, `#audit-log` with a `.audit-entry` row each
(`data-action`), `#audit-older`, `#audit-newest`, `#audit-filter-error`.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components import style
from tutor_app.components.admin_forms import text_input
from tutor_app.components.admin_nav import admin_page
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error
from tutor_app.state.admin_audit import AdminAuditState
from tutor_app.state.typed import Row, flag, page

S = AdminAuditState


def _filters() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                text_input("action", "Action (user.disable)", default_value=S.action),
                text_input("target_type", "Target type", default_value=S.target_type),
                text_input("target_id", "Target id", default_value=S.target_id),
                text_input("actor_email", "Actor email", default_value=S.actor_email),
                text_input("day", "Day (YYYY-MM-DD)", default_value=S.day),
                rx.button("Filter", type="submit", size="2"),
                spacing="2", wrap="wrap",
            ),
            field_error(S.filter_error, "audit-filter-error"),
            spacing="1",
        ),
        on_submit=S.apply_filters, no_validate=True, id="audit-filters",
    )


def _change(text: rx.Var[str]) -> rx.Component:
    return rx.text(text, size="1", font_family="monospace")


def _row(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["when"], white_space="nowrap"),
        rx.table.cell(row["actor"]),
        rx.table.cell(rx.code(row["action"])),
        rx.table.cell(row["target"]),
        rx.table.cell(row["reason"]),
        rx.table.cell(rx.vstack(rx.foreach(row["changes"].to(list[str]), _change),
                                spacing="0")),
        class_name="audit-entry",
        custom_attrs={"data-action": row["action"].to(str)},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[
                rx.table.column_header_cell(h)
                for h in ("When", "Who", "Action", "Target", "Reason", "Before → after")
            ])),
            rx.table.body(rx.foreach(S.rows, _row)),
            variant="surface", width="100%",
        ),
        overflow_x="auto", width="100%", id="audit-log",
    )


def _body() -> rx.Component:
    return rx.vstack(
        _filters(),
        rx.text("Newest first. Entries are never changed or removed.", size="2",
                color=style.MUTED_TEXT),
        _table(),
        rx.hstack(
            rx.button("Newest", on_click=S.newest, disabled=~flag(S.paged), variant="soft",
                      size="2", id="audit-newest"),
            rx.button("Older", on_click=S.older, disabled=~flag(S.has_older), variant="soft",
                      size="2", id="audit-older"),
            spacing="2",
        ),
        spacing="4", width="100%",
    )


@page(route=routes.ADMIN_AUDIT, title=f"Audit log · Admin · {PRODUCT_NAME}", on_load=S.load)
def admin_audit() -> rx.Component:
    return admin_page(loaded=S.loaded, allowed=S.allowed, heading="Audit log", body=_body())
