"""`/admin/users`: search accounts by email or name, a page at a time; change a role, disable
and enable an account.

Ids the browser tests use: `#user-search` (`#user-query`), `#admin-users` with a
`.admin-user` row each (`data-email`), `#users-newer`, `#users-older`, `#admin-message`,
`#admin-error`.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components import style
from tutor_app.components.admin_forms import (
    action_form,
    hidden,
    outcome,
    reason_input,
    text_input,
)
from tutor_app.components.admin_nav import admin_page
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.admin_users import AdminUsersState
from tutor_app.state.typed import Row, cond_value, flag, page

S = AdminUsersState


def _role_option(role: rx.Var[str]) -> rx.Component:
    return rx.el.option(role, value=role)


def _search() -> rx.Component:
    return rx.form(
        rx.hstack(
            text_input("q", "Email or name", id="user-query", default_value=S.query,
                       key=S.query),
            rx.button("Search", type="submit", size="2"),
            spacing="2",
        ),
        on_submit=S.search, no_validate=True, id="user-search",
    )


def _row(row: Row) -> rx.Component:
    user_id = row["id"].to(str)
    disabled = row["disabled"].to(bool)
    return rx.table.row(
        rx.table.row_header_cell(rx.vstack(
            rx.text(row["email"], weight="medium"),
            rx.text(row["name"], size="1", color=style.MUTED_TEXT),
            spacing="0",
        )),
        rx.table.cell(rx.badge(row["status"],
                               color_scheme=cond_value(disabled, "red", "green"))),
        rx.table.cell(row["joined"]),
        rx.table.cell(action_form(
            hidden("user_id", user_id),
            rx.el.select(rx.foreach(S.role_options, _role_option), name="role",
                         default_value=row["role"].to(str), key=row["role"].to(str),
                         aria_label="Role"),
            text_input("tutor_id", "Tutor id (tutor role)", default_value=row["tutor_id"],
                       width="10rem"),
            reason_input(),
            rx.button("Change role", type="submit", size="1", variant="soft"),
            on_submit=S.change_role, class_name="change-role",
        )),
        rx.table.cell(rx.cond(
            disabled,
            action_form(hidden("user_id", user_id), reason_input(),
                        rx.button("Enable", type="submit", size="1", variant="soft"),
                        on_submit=S.enable, class_name="enable-user"),
            action_form(hidden("user_id", user_id), reason_input(),
                        rx.button("Disable", type="submit", size="1", color_scheme="red",
                                  variant="soft"),
                        on_submit=S.disable, class_name="disable-user"),
        )),
        class_name="admin-user",
        custom_attrs={"data-email": row["email"].to(str)},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[
                rx.table.column_header_cell(h)
                for h in ("Account", "Status", "Joined", "Role", "Sign-in")
            ])),
            rx.table.body(rx.foreach(S.rows, _row)),
            variant="surface", width="100%",
        ),
        overflow_x="auto", width="100%", id="admin-users",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button("Newer", on_click=S.previous_page, disabled=flag(S.page == 0),
                  variant="soft", size="2", id="users-newer"),
        rx.button("Older", on_click=S.next_page, disabled=~flag(S.has_more),
                  variant="soft", size="2", id="users-older"),
        spacing="2",
    )


def _body() -> rx.Component:
    return rx.vstack(outcome(S.message, S.error), _search(), _table(), _pager(),
                     spacing="4", width="100%")


@page(route=routes.ADMIN_USERS, title=f"Users · Admin · {PRODUCT_NAME}", on_load=S.load)
def admin_users() -> rx.Component:
    return admin_page(loaded=S.loaded, allowed=S.allowed, heading="Users", body=_body())
