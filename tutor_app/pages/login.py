"""`/login`: sign in with email and password, or with Google when it is configured; a link to
reset a forgotten password."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from tutor_app.components import style
from tutor_app.components.alerts import error_callout, notice_callout
from tutor_app.components.layout import page_layout
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.auth import LoginState, SignupState
from tutor_app.state.typed import cond_value, page

S = LoginState


# The pieces below are shared with the sign-up page (pages/signup.py imports them).


def field_error(message: Var[str] | str, error_id: str) -> rx.Component:
    """The message next to a field, announced by screen readers when it appears."""
    return rx.cond(
        message != "",
        rx.text(message, id=error_id, role="alert", size="2", color=rx.color("red", 11)),
    )


def labelled_input(
    label: str, name: str, *, error: Var[str] | str, hint: str = "", **input_props: Any
) -> rx.Component:
    """A labelled input (id and name both `name`) with its hint and its error under it."""
    error_id = f"{name}-error"
    return rx.vstack(
        rx.el.label(label, html_for=name, font_weight="500", font_size="0.875rem"),
        rx.input(
            id=name,
            name=name,
            size="3",
            width="100%",
            custom_attrs={
                "aria-invalid": cond_value(error != "", "true", "false"),
                "aria-describedby": error_id,
            },
            **input_props,
        ),
        rx.cond(hint != "", rx.text(hint, size="1", color=style.MUTED_TEXT)),
        field_error(error, error_id),
        spacing="1",
        width="100%",
    )


def submit_button(label: str, busy: Var[bool] | bool) -> rx.Component:
    return rx.button(label, type="submit", id="submit", size="3", width="100%", loading=busy)


def google_button(href: Var[str]) -> rx.Component:
    """A link to the OpenID redirect route, styled as a button, that loads a whole new page.

    `rx.el.a` is React Router's Link in Reflex 0.10: without `reload_document` the click would
    be routed client-side to a page that does not exist and never reach the API.
    """
    return rx.vstack(
        rx.button(
            rx.el.a(
                rx.icon("log-in", size=18, aria_hidden="true"),
                "Continue with Google",
                href=href,
                reload_document=True,
                id="google-login",
            ),
            as_child=True,
            variant="outline",
            size="3",
            width="100%",
        ),
        rx.hstack(
            rx.separator(size="4", flex="1"),
            rx.text("or", size="1", color=style.MUTED_TEXT),
            rx.separator(size="4", flex="1"),
            align="center",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def auth_card(
    *,
    title: str,
    intro: str,
    state: type[LoginState] | type[SignupState],
    fields: list[rx.Component],
    submit_label: str,
    footer: rx.Component,
    above: rx.Component | None = None,
) -> rx.Component:
    """The sign-in and sign-up card: heading, Google button, the form, a link to the other."""
    return page_layout(
        rx.card(
            rx.vstack(
                rx.heading(title, as_="h1", size="7"),
                rx.text(intro, color=style.MUTED_TEXT, size="2"),
                *([above] if above is not None else []),
                rx.cond(state.google_login_enabled, google_button(state.google_login_url)),
                rx.form(
                    rx.vstack(
                        *fields,
                        field_error(state.form_error, "form-error"),
                        submit_button(submit_label, state.submitting),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=state.submit,
                    reset_on_submit=False,
                    no_validate=True,  # our messages, by the field, not the browser's bubbles
                    width="100%",
                ),
                footer,
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
        ),
        max_width="28rem",
    )


@page(route=routes.LOGIN, title=f"Sign in · {PRODUCT_NAME}", on_load=LoginState.on_load)
def login() -> rx.Component:
    return auth_card(
        title="Sign in",
        intro="Welcome back. Sign in to book and manage your lessons.",
        state=S,
        above=rx.fragment(
            error_callout(S.query_error, "login-query-error"),
            notice_callout(S.query_notice, "login-notice"),
        ),
        fields=[
            labelled_input("Email", "email", type="email", auto_complete="username",
                           default_value=S.email, error=S.email_error),
            labelled_input("Password", "password", type="password",
                           auto_complete="current-password", error=S.password_error),
            rx.link("Forgot password?", href=routes.FORGOT_PASSWORD, id="forgot-password",
                    size="2", align_self="end"),
        ],
        submit_label="Sign in",
        footer=rx.text(
            "New here? ",
            rx.link("Create an account", href=S.signup_link, id="to-signup"),
            size="2",
        ),
    )
