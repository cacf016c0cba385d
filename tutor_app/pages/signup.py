"""`/signup`: create an account with email and password, or continue with Google."""

from __future__ import annotations

import reflex as rx

from tutor_app import routes, style
from tutor_app.accounts import MIN_PASSWORD_LENGTH
from tutor_app.components.layout import page_layout
from tutor_app.pages.login import field_error, google_button, labelled_input, submit_button
from tutor_app.state.auth import SignupState

S = SignupState


@rx.page(route=routes.SIGNUP, title="Create an account · Tutorly", on_load=SignupState.on_load)
def signup() -> rx.Component:
    return page_layout(
        rx.card(
            rx.vstack(
                rx.heading("Create an account", as_="h1", size="7"),
                rx.text("Book lessons, pay securely and keep all your lessons in one place.",
                        color=style.MUTED_TEXT, size="2"),
                rx.cond(S.google_login_enabled, google_button(S.google_login_url)),
                rx.form(
                    rx.vstack(
                        labelled_input("Name", "name", auto_complete="name",
                                       default_value=S.name, error=S.name_error,
                                       hint="Optional: how tutors will greet you."),
                        labelled_input("Email", "email", type="email", auto_complete="email",
                                       default_value=S.email, error=S.email_error),
                        labelled_input("Password", "password", type="password",
                                       auto_complete="new-password", error=S.password_error,
                                       hint=f"At least {MIN_PASSWORD_LENGTH} characters."),
                        field_error(S.form_error, "form-error"),
                        submit_button("Create account", S.submitting),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=S.submit,
                    reset_on_submit=False,
                    no_validate=True,  # our messages, by the field, not the browser's bubbles
                    width="100%",
                ),
                rx.text(
                    "Already have an account? ",
                    rx.link("Sign in", href=S.login_link, id="to-login"),
                    size="2",
                ),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
        ),
        max_width="28rem",
    )
