"""`/reset-password?token=...`: choose a new password with a mailed link; then sign in."""

from __future__ import annotations

import reflex as rx

from tutor_app.accounts.password_reset import RESET_LINK_DEAD
from tutor_app.accounts.users import MIN_PASSWORD_LENGTH
from tutor_app.components.account_card import account_card, muted
from tutor_app.components.alerts import error_callout
from tutor_app.components.layout import link_button
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error, labelled_input, submit_button
from tutor_app.state.password_reset import ResetPasswordState
from tutor_app.state.typed import flag, page

R = ResetPasswordState


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            labelled_input("New password", "password", type="password",
                           auto_complete="new-password", error=R.password_error,
                           hint=f"At least {MIN_PASSWORD_LENGTH} characters."),
            labelled_input("New password again", "confirm", type="password",
                           auto_complete="new-password", error=R.confirm_error),
            field_error(R.form_error, "form-error"),
            submit_button("Change password", R.submitting),
            spacing="4",
            width="100%",
        ),
        on_submit=R.submit,
        reset_on_submit=False,
        no_validate=True,
        width="100%",
    )


def _dead_link() -> rx.Component:
    return rx.vstack(
        error_callout(RESET_LINK_DEAD, "reset-link-dead"),
        link_button("Ask for a new link", href=routes.FORGOT_PASSWORD, size="3",
                    id="new-reset-link"),
        spacing="4",
        width="100%",
    )


@page(route=routes.RESET_PASSWORD, title=f"Choose a new password · {PRODUCT_NAME}",
      on_load=R.on_load)
def reset_password() -> rx.Component:
    return account_card(
        "Choose a new password",
        rx.cond(
            flag(R.checked),
            rx.cond(
                flag(R.link_live),
                rx.vstack(
                    muted("You will be signed out everywhere, then sign in with the new one."),
                    _form(),
                    spacing="4",
                    width="100%",
                ),
                _dead_link(),
            ),
            muted("Checking your link…"),
        ),
    )
