"""`/forgot-password`: ask for a link that resets the password (the answer is the same for
every address)."""

from __future__ import annotations

import reflex as rx

from tutor_app.components.account_card import account_card, muted
from tutor_app.components.alerts import notice_callout
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import labelled_input, submit_button
from tutor_app.state.password_reset import ForgotPasswordState
from tutor_app.state.typed import page

F = ForgotPasswordState


@page(route=routes.FORGOT_PASSWORD, title=f"Forgot password · {PRODUCT_NAME}",
      on_load=F.on_load)
def forgot_password() -> rx.Component:
    return account_card(
        "Forgot your password?",
        muted("Enter the email address of your account and we will mail you a link to choose "
              "a new password."),
        notice_callout(F.notice, "forgot-password-notice"),
        rx.form(
            rx.vstack(
                labelled_input("Email", "email", type="email", auto_complete="username",
                               default_value=F.email, error=F.email_error),
                submit_button("Send me a link", False),
                spacing="4",
                width="100%",
            ),
            on_submit=F.submit,
            reset_on_submit=False,
            no_validate=True,
            width="100%",
        ),
        rx.text("Remembered it? ", rx.link("Sign in", href=routes.LOGIN, id="to-login"),
                size="2"),
    )
