"""`/signup`: create an account with email and password, or continue with Google."""

from __future__ import annotations

import reflex as rx

from tutor_app.accounts.users import MIN_PASSWORD_LENGTH
from tutor_app.components.alerts import notice_callout
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import auth_card, labelled_input
from tutor_app.state.auth import SignupState
from tutor_app.state.typed import page

S = SignupState


@page(route=routes.SIGNUP, title=f"Create an account · {PRODUCT_NAME}", on_load=SignupState.on_load)
def signup() -> rx.Component:
    return auth_card(
        title="Create an account",
        intro="Book lessons, pay securely and keep all your lessons in one place.",
        state=S,
        above=notice_callout(S.notice, "signup-notice"),
        fields=[
            labelled_input("Name", "name", auto_complete="name", default_value=S.name,
                           error=S.name_error, hint="Optional: how tutors will greet you."),
            labelled_input("Email", "email", type="email", auto_complete="email",
                           default_value=S.email, error=S.email_error),
            labelled_input("Password", "password", type="password",
                           auto_complete="new-password", error=S.password_error,
                           hint=f"At least {MIN_PASSWORD_LENGTH} characters."),
        ],
        submit_label="Create account",
        footer=rx.text(
            "Already have an account? ",
            rx.link("Sign in", href=S.login_link, id="to-login"),
            size="2",
        ),
    )
