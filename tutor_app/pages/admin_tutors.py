"""`/admin/tutors`: every tutor profile, a new one, an invitation, deactivate and reactivate.

Ids the browser tests use: `#admin-tutors` with a `.admin-tutor` row each (`data-tutor`),
`#create-tutor`, `#invite-tutor`, `#follow-ups` (`.follow-up` rows), `#admin-message`,
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
from tutor_app.state.admin_tutors import ZONE_OPTIONS, AdminTutorsState
from tutor_app.state.typed import Row, array, cond_value, page

S = AdminTutorsState


def _zone_option(zone: rx.Var[str]) -> rx.Component:
    return rx.el.option(zone, value=zone)


def _create_form() -> rx.Component:
    return action_form(
        text_input("name", "Tutor's name"),
        rx.el.select(rx.foreach(rx.Var.create(list(ZONE_OPTIONS)), _zone_option), name="timezone",
                     default_value="UTC", aria_label="Time zone"),
        reason_input(),
        rx.button("Create profile", type="submit", size="2"),
        on_submit=S.create, form_id="create-tutor",
    )


def _invite_form() -> rx.Component:
    return action_form(
        text_input("email", "Email to invite", type="email"),
        text_input("tutor_id", "Profile id (empty: a new one)"),
        reason_input(),
        rx.button("Invite", type="submit", size="2"),
        on_submit=S.invite, form_id="invite-tutor",
    )


def _row(row: Row) -> rx.Component:
    active = row["active"].to(bool)
    return rx.table.row(
        rx.table.row_header_cell(rx.vstack(
            rx.text(row["name"], weight="medium"),
            rx.text(row["id"], size="1", color=style.MUTED_TEXT),
            spacing="0",
        )),
        rx.table.cell(rx.vstack(
            rx.badge(row["listed"], color_scheme=cond_value(active, "green", "gray")),
            rx.cond(row["missing"].to(str) != "",
                    rx.text("Missing: ", row["missing"], size="1", color=style.MUTED_TEXT)),
            rx.cond(row["follow_up"].to(str) != "",
                    rx.badge(row["follow_up"], color_scheme="orange",
                             class_name="needs-follow-up")),
            spacing="1",
        )),
        rx.table.cell(row["rate"]),
        rx.table.cell(rx.text(row["accounts"], size="2")),
        rx.table.cell(rx.hstack(
            rx.link("Profile", href=row["profile_url"].to(str)),
            rx.link("Hours", href=row["hours_url"].to(str)),
            spacing="3",
        )),
        rx.table.cell(rx.cond(
            active,
            action_form(hidden("tutor_id", row["id"].to(str)), reason_input(),
                        rx.button("Deactivate", type="submit", size="1", color_scheme="red",
                                  variant="soft"),
                        on_submit=S.deactivate, class_name="deactivate-tutor"),
            action_form(hidden("tutor_id", row["id"].to(str)), reason_input(),
                        rx.button("Reactivate", type="submit", size="1", variant="soft"),
                        on_submit=S.reactivate, class_name="reactivate-tutor"),
        )),
        class_name="admin-tutor",
        custom_attrs={"data-tutor": row["id"].to(str)},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[
                rx.table.column_header_cell(h)
                for h in ("Tutor", "Status", "Rate", "Accounts", "Edit", "Active")
            ])),
            rx.table.body(rx.foreach(S.rows, _row)),
            variant="surface", width="100%",
        ),
        overflow_x="auto", width="100%", id="admin-tutors",
    )


def _follow_up(row: Row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["when"], href=row["url"].to(str))),
        rx.table.cell(row["tutor"]),
        rx.table.cell(row["student"]),
        class_name="follow-up",
    )


def _follow_ups() -> rx.Component:
    return rx.cond(
        array(S.follow_ups).length() > 0,
        rx.vstack(
            rx.heading("Needs follow-up", as_="h2", size="4"),
            rx.text("Upcoming lessons of deactivated tutors: move or cancel each one.",
                    size="2", color=style.MUTED_TEXT),
            rx.table.root(rx.table.body(rx.foreach(S.follow_ups, _follow_up)),
                          variant="surface", width="100%"),
            spacing="2", width="100%", id="follow-ups",
        ),
    )


def _body() -> rx.Component:
    return rx.vstack(
        outcome(S.message, S.error),
        _follow_ups(),
        rx.heading("New tutor", as_="h2", size="4"),
        _create_form(),
        rx.heading("Invite a tutor", as_="h2", size="4"),
        _invite_form(),
        rx.heading("All tutors", as_="h2", size="4"),
        _table(),
        spacing="4", width="100%",
    )


@page(route=routes.ADMIN_TUTORS, title=f"Tutors · Admin · {PRODUCT_NAME}", on_load=S.load)
def admin_tutors() -> rx.Component:
    return admin_page(loaded=S.loaded, allowed=S.allowed, heading="Tutors", body=_body())
