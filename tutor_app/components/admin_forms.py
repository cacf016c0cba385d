"""Pieces the admin portal's action forms share (render only): the reason every action asks
for, a hidden id, a small text input, and the outcome line of the last action."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from tutor_app.components import style

INPUT_STYLE = {
    "padding": "0.375rem 0.625rem",
    "border": f"1px solid {rx.color('gray', 7)}",
    "border_radius": "var(--radius-3)",
    "background": style.SURFACE,
    "font_size": "0.9rem",
}


def text_input(name: str, placeholder: str, **props: Any) -> rx.Component:
    return rx.el.input(name=name, placeholder=placeholder, aria_label=placeholder,
                       style=INPUT_STYLE, **props)


def reason_input(**props: Any) -> rx.Component:
    """The reason of an action (required: it goes into the audit log)."""
    return text_input("reason", "Reason (for the audit log)", min_width="14rem",
                      class_name="admin-reason", **props)


def hidden(name: str, value: Var[str] | str) -> rx.Component:
    return rx.el.input(type="hidden", name=name, value=value)


def outcome(message: Var[str] | str, error: Var[str] | str) -> rx.Component:
    """What the last action did (`#admin-message`), or why it was refused (`#admin-error`)."""
    return rx.fragment(
        rx.cond(message != "", rx.callout(message, icon="check", color_scheme="green",
                                          id="admin-message", role="status", width="100%")),
        rx.cond(error != "", rx.callout(error, icon="triangle_alert", color_scheme="red",
                                        id="admin-error", role="alert", width="100%")),
    )


def action_form(*children: rx.Component, on_submit: Any, form_id: str | Var[str] = "",
                **props: Any) -> rx.Component:
    """A one-line form: its fields, a reason and a button, submitted to a state handler."""
    if form_id:
        props["id"] = form_id
    return rx.form(
        rx.hstack(*children, spacing="2", align="center", wrap="wrap"),
        on_submit=on_submit, reset_on_submit=True, no_validate=True, **props,
    )


def admin_edit_banner(editing: Var[bool] | bool, reason: Var[str] | str, on_reason: Any,
                      error: Var[str] | str) -> rx.Component:
    """On a tutor's own page opened by an admin: every save there is audited, with the
    reason typed here (`#admin-edit-reason`; its message `#admin-edit-reason-error`)."""
    return rx.cond(editing, rx.callout.root(
        rx.callout.icon(rx.icon("shield")),
        rx.vstack(
            rx.text("You are changing this tutor's page as an admin. Each save goes into the "
                    "audit log with this reason.", size="2"),
            text_input("reason", "Reason (for the audit log)", value=reason,
                       on_change=on_reason, id="admin-edit-reason", width="100%"),
            rx.cond(error != "", rx.text(error, id="admin-edit-reason-error", role="alert",
                                         size="2", color=rx.color("red", 11))),
            spacing="2", width="100%",
        ),
        color_scheme="amber", width="100%", id="admin-edit-banner",
    ))
