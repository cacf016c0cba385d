"""`/account`: account settings, one section and one form each, messages by the field.

Ids the browser tests use: `#name` and `#save-name`; `#account-email` with `#email-status`
("Verified" or "Not verified yet"), `#resend-verification` while not verified, `#new_email`,
`#email_password` and `#change-email` (or `#email-google` for an account without a
password); `#timezone` (a native select) and `#save-timezone`; `#current_password`,
`#new_password` and `#change-password` (or `#password-google` for an account without a
password); `#devices` with one `.device` row each (`data-current`, and
`#sign-out-device-<id>` on the others) and `#sign-out-everywhere`; `#confirm` and
`#delete-account`. Each section's news is `#<section>-notice` (`#verify-notice` for the
resent link), each field's message `#<field>-error`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from tutor_app.accounts import account_settings
from tutor_app.accounts.users import MIN_PASSWORD_LENGTH
from tutor_app.components import style
from tutor_app.components.layout import loading_placeholder, page_layout
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error, labelled_input
from tutor_app.state.account import AccountState
from tutor_app.state.auth import AuthState
from tutor_app.state.typed import Row, array, cond_value, flag, handler, page

S = AccountState


def _notice(message: Var[str] | str, notice_id: str) -> rx.Component:
    """What a section's last action did, read out politely when it appears."""
    return rx.cond(
        message != "",
        rx.text(message, id=notice_id, role="status", size="2", color=rx.color("green", 11)),
    )


def _section(title: str, section_id: str, *children: rx.Component,
             intro: str = "", **props: Any) -> rx.Component:
    return rx.el.section(
        rx.card(
            rx.vstack(
                rx.heading(title, as_="h2", size="4"),
                *([rx.text(intro, size="2", color=style.MUTED_TEXT)] if intro else []),
                *children,
                spacing="3",
                width="100%",
            ),
            size="3",
            width="100%",
            **props,
        ),
        id=section_id,
        width="100%",
    )


def _form(*children: rx.Component, on_submit: Any, reset: bool = False) -> rx.Component:
    return rx.form(
        rx.vstack(*children, spacing="3", width="100%", align="start"),
        on_submit=on_submit,
        reset_on_submit=reset,  # password fields are emptied after every submit
        no_validate=True,  # our messages, by the field, not the browser's bubbles
        width="100%",
    )


def _submit(label: str, button_id: str, **props: Any) -> rx.Component:
    return rx.button(label, type="submit", id=button_id, size="2", **props)


def _name_section() -> rx.Component:
    return _section(
        "Name",
        "name-section",
        _form(
            labelled_input("Name", "name", auto_complete="name", default_value=S.form_name,
                           error=S.name_error, hint="How tutors will greet you."),
            _submit("Save name", "save-name"),
            _notice(S.name_notice, "name-notice"),
            on_submit=S.save_name,
        ),
    )


def _email_status() -> rx.Component:
    """The address, and whether its mailbox is proven; when not, a button for a new link."""
    verified = flag(AuthState.user_email_verified)
    return rx.vstack(
        rx.hstack(
            rx.text(AuthState.user_email, id="account-email", size="3", weight="medium"),
            rx.cond(
                verified,
                rx.badge("Verified", color_scheme="green", variant="soft", id="email-status"),
                rx.badge("Not verified yet", color_scheme="amber", variant="soft",
                         id="email-status"),
            ),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.text("Your lessons, receipts and reminders are sent to this address.", size="2",
                color=style.MUTED_TEXT),
        rx.cond(
            ~verified,
            rx.vstack(
                rx.button("Resend the link", on_click=S.resend_verification, variant="soft",
                          size="2", id="resend-verification"),
                _notice(S.verify_notice, "verify-notice"),
                spacing="2",
            ),
        ),
        spacing="2",
        width="100%",
    )


def email_section() -> rx.Component:
    """The account's email address, verified or not, and the form to change it (not for an
    account whose email comes from its Google sign-in)."""
    return _section(
        "Email",
        "email-section",
        _email_status(),
        rx.cond(
            S.has_password,
            _form(
                rx.heading("Change email", as_="h3", size="3"),
                labelled_input("New email", account_settings.NEW_EMAIL_FIELD, type="email",
                               auto_complete="email", error=S.new_email_error,
                               hint="We mail a link there; your email changes when you open "
                                    "it."),
                labelled_input("Current password", account_settings.EMAIL_PASSWORD_FIELD,
                               type="password", auto_complete="current-password",
                               error=S.email_password_error),
                _submit("Change email", "change-email"),
                _notice(S.email_notice, "email-notice"),
                on_submit=S.request_email_change,
                reset=True,
            ),
            rx.text(account_settings.EMAIL_FROM_GOOGLE, id="email-google", size="2"),
        ),
    )


def _zone_option(option: Row) -> rx.Component:
    return rx.el.option(option["label"].to(str), value=option["value"].to(str))


def _zone_section() -> rx.Component:
    return _section(
        "Time zone",
        "timezone-section",
        _form(
            rx.vstack(
                rx.el.label("Time zone", html_for="timezone", font_weight="500",
                            font_size="0.875rem"),
                rx.el.select(
                    rx.foreach(array(S.zone_options), _zone_option),
                    id="timezone",
                    name="timezone",
                    value=S.zone,
                    on_change=handler(S.set_zone),
                    custom_attrs={"aria-describedby": "timezone-error"},
                    style={
                        "width": "100%",
                        "padding": "0.5rem 0.75rem",
                        "border": f"1px solid {rx.color('gray', 7)}",
                        "border_radius": "var(--radius-3)",
                        "background": style.SURFACE,
                        "font_size": "0.95rem",
                    },
                ),
                field_error(S.zone_error, "timezone-error"),
                spacing="1",
                width="100%",
            ),
            _submit("Save time zone", "save-timezone"),
            _notice(S.zone_notice, "timezone-notice"),
            on_submit=S.save_timezone,
        ),
        intro="Your lessons are shown in this zone here, in your emails and in your calendar "
              "files.",
    )


def _password_section() -> rx.Component:
    return _section(
        "Password",
        "password-section",
        rx.cond(
            S.has_password,
            _form(
                labelled_input("Current password", "current_password", type="password",
                               auto_complete="current-password", error=S.current_password_error),
                labelled_input("New password", "new_password", type="password",
                               auto_complete="new-password", error=S.new_password_error,
                               hint=f"At least {MIN_PASSWORD_LENGTH} characters."),
                _submit("Change password", "change-password"),
                _notice(S.password_notice, "password-notice"),
                on_submit=S.change_password,
                reset=True,
            ),
            rx.text(account_settings.NO_PASSWORD, id="password-google", size="2"),
        ),
    )


def _device_row(device: Row) -> rx.Component:
    session_id = device["id"].to(str)
    current = device["current"].to(bool)
    return rx.hstack(
        rx.icon("monitor-smartphone", size=18, color=style.MUTED_TEXT, aria_hidden="true"),
        rx.vstack(
            rx.hstack(
                rx.text(device["description"].to(str), size="2", weight="medium",
                        class_name="device-name"),
                rx.cond(current, rx.badge("This device", variant="soft", color_scheme="green")),
                spacing="2",
                align="center",
            ),
            rx.text("Signed in " + device["signed_in"].to(str), size="1",
                    color=style.MUTED_TEXT),
            spacing="0",
            flex="1",
        ),
        rx.cond(
            current,
            rx.fragment(),
            rx.button("Sign out", variant="soft", color_scheme="gray", size="1",
                      on_click=handler(S.sign_out_device)(session_id),
                      id="sign-out-device-" + session_id),
        ),
        align="center",
        spacing="3",
        width="100%",
        class_name="device",
        custom_attrs={"data-current": cond_value(current, "true", "false")},
    )


def _devices_section() -> rx.Component:
    return _section(
        "Signed-in devices",
        "devices-section",
        rx.vstack(rx.foreach(array(S.devices), _device_row), spacing="3", width="100%",
                  id="devices"),
        _notice(S.devices_notice, "devices-notice"),
        rx.button("Sign out everywhere", variant="outline", color_scheme="gray", size="2",
                  on_click=S.sign_out_everywhere, id="sign-out-everywhere"),
        intro="Where you are signed in. Signing out everywhere includes this device.",
    )


def _delete_section() -> rx.Component:
    return _section(
        "Delete account",
        "delete-section",
        _form(
            rx.cond(
                S.has_password,
                labelled_input("Password", "confirm", type="password",
                               auto_complete="current-password", error=S.confirm_error,
                               hint="Enter your password to confirm."),
                labelled_input(f"Type {account_settings.DELETE_WORD} to confirm", "confirm",
                               auto_complete="off", error=S.confirm_error),
            ),
            _submit("Delete my account", "delete-account", color_scheme="red"),
            on_submit=S.delete_account,
            reset=True,
        ),
        intro="Your name, email, sign-ins and notes are removed for good. Past lessons stay "
              "in your tutors' records without your details. Cancel any upcoming lesson first.",
        border=f"1px solid {rx.color('red', 6)}",
    )


def _loading() -> rx.Component:
    return loading_placeholder(*[rx.box(height="8rem", width="100%") for _ in range(4)],
                               spacing="4")


@page(
    route=routes.ACCOUNT,
    title=f"Account settings · {PRODUCT_NAME}",
    on_load=[AuthState.require_login, S.load],
)
def account() -> rx.Component:
    return page_layout(
        rx.vstack(
            rx.heading("Account settings", as_="h1", size="7"),
            rx.cond(
                S.loaded,
                rx.vstack(
                    _name_section(),
                    email_section(),
                    _zone_section(),
                    _password_section(),
                    _devices_section(),
                    _delete_section(),
                    spacing="5",
                    width="100%",
                ),
                _loading(),
            ),
            spacing="6",
            width="100%",
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )
