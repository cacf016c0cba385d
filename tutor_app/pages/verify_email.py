"""`/verify-email?token=...`: open a mailed verification link (or an email change's) and say
what happened.

It signs nobody in: a signed-in visitor goes on to their lessons, anyone else to sign in.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.accounts.email_verification import ALREADY_CONFIRMED, LINK_DEAD
from tutor_app.components.account_card import account_card, muted
from tutor_app.components.layout import link_button
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.auth import AuthState
from tutor_app.state.typed import flag, page
from tutor_app.state.verify_email import DEAD, TAKEN, VERIFIED, VerifyEmailState

V = VerifyEmailState


def _continue() -> rx.Component:
    return link_button(
        rx.cond(AuthState.signed_in, rx.text("Go to my lessons"), rx.text("Sign in")),
        href=V.continue_url, size="3", id="verify-continue",
    )


def _verified() -> rx.Component:
    return rx.vstack(
        rx.cond(
            flag(V.email_changed),
            rx.heading("Email changed", as_="h1", size="7"),
            rx.heading("Email confirmed", as_="h1", size="7"),
        ),
        rx.text(V.result, id="verify-result", role="status"),
        rx.cond(
            flag(V.password_set),
            muted("Your account is ready: sign in with the password you chose."),
        ),
        _continue(),
        spacing="4",
        width="100%",
    )


def _new_link() -> rx.Component:
    """How to get a new link: signed in, right here; signed out, after signing in (the
    reminder on the lessons page), or by signing up again to finish creating an account."""
    return rx.cond(
        AuthState.signed_in,
        rx.cond(
            flag(AuthState.user_email_verified),
            rx.vstack(muted(ALREADY_CONFIRMED), _continue(), spacing="4"),
            rx.vstack(
                rx.button("Send me a new link", on_click=V.resend, size="3",
                          id="resend-verification"),
                rx.cond(V.resend_notice != "",
                        rx.text(V.resend_notice, size="2", role="status", id="resend-notice")),
                spacing="3",
            ),
        ),
        rx.vstack(
            muted("Sign in and ask for a new link from your lessons page. Were you finishing "
                  "creating your account? Sign up again to get a new link."),
            rx.hstack(
                _continue(),
                link_button("Sign up again", href=V.signup_url, size="3", variant="soft",
                            id="verify-signup"),
                spacing="3",
                wrap="wrap",
            ),
            spacing="4",
        ),
    )


def _dead() -> rx.Component:
    return rx.vstack(
        rx.heading("This link no longer works", as_="h1", size="7"),
        rx.text(LINK_DEAD, id="verify-result", role="status"),
        _new_link(),
        spacing="4",
        width="100%",
    )


def _taken() -> rx.Component:
    return rx.vstack(
        rx.heading("Your email was not changed", as_="h1", size="7"),
        rx.text(V.result, id="verify-result", role="status"),
        _continue(),
        spacing="4",
        width="100%",
    )


@page(route=routes.VERIFY_EMAIL, title=f"Confirm your email · {PRODUCT_NAME}",
      on_load=V.open_link)
def verify_email() -> rx.Component:
    return account_card(
        None,
        rx.cond(
            V.outcome == VERIFIED,
            _verified(),
            rx.cond(
                V.outcome == DEAD,
                _dead(),
                rx.cond(
                    V.outcome == TAKEN,
                    _taken(),
                    rx.heading("Confirming your email address…", as_="h1", size="7"),
                ),
            ),
        ),
    )
