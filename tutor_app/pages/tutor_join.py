"""`/tutor/join?token=...`: a mailed tutor invitation: who invited, for which profile, and
accepting it (signed in), or creating the account (password or Google).

Ids the browser tests use: `#invite-summary`, `#accept-invite`, `#wrong-account`,
`#invite-error`, `#join-dead`, and the form's `#name`, `#password`, `#submit`.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.accounts.users import MIN_PASSWORD_LENGTH
from tutor_app.components.account_card import account_card, muted
from tutor_app.components.alerts import error_callout
from tutor_app.components.layout import LOGOUT_ACTION, link_button, native_post_form
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error, google_button, labelled_input, submit_button
from tutor_app.state.auth import AuthState
from tutor_app.state.tutor_join import TutorJoinState
from tutor_app.state.typed import flag, page
from tutor_app.tutors.invites import INVITE_DEAD

J = TutorJoinState


def _summary() -> rx.Component:
    return rx.text(
        J.inviter,
        " invited ",
        rx.text(J.invite_email, as_="span", weight="bold"),
        rx.cond(
            J.profile_name != "",
            rx.text(" to run the tutor profile of ", rx.text(J.profile_name, as_="span",
                                                               weight="bold"), as_="span"),
            rx.text(" to create a new tutor profile", as_="span"),
        ),
        f" on {PRODUCT_NAME}.",
        id="invite-summary",
    )


def _accept() -> rx.Component:
    return rx.vstack(
        muted("Your account becomes a tutor account: next you set up your profile, hours and "
              "rate, and students can book you."),
        rx.button("Accept as ", J.user_email, on_click=J.accept, size="3", width="100%",
                  loading=J.accepting, id="accept-invite"),
        spacing="4",
        width="100%",
    )


def _wrong_account() -> rx.Component:
    return rx.vstack(
        rx.callout(J.wrong_account, icon="triangle_alert", color_scheme="amber", role="alert",
                   id="wrong-account", width="100%"),
        native_post_form(
            rx.button("Sign out", type="submit", variant="soft", size="3", id="join-sign-out"),
            action=LOGOUT_ACTION,
        ),
        spacing="4",
        width="100%",
    )


def _create_account() -> rx.Component:
    return rx.vstack(
        rx.cond(J.google_login_enabled, google_button(J.join_google_url)),
        rx.form(
            rx.vstack(
                labelled_input("Name", "name", auto_complete="name", default_value=J.name,
                               error=J.name_error, hint="Students see it on your profile."),
                labelled_input("Email", "email", type="email", auto_complete="username",
                               value=J.invite_email, read_only=True, error=J.email_error,
                               hint="The invitation's address; it is confirmed by this link."),
                labelled_input("Password", "password", type="password",
                               auto_complete="new-password", error=J.password_error,
                               hint=f"At least {MIN_PASSWORD_LENGTH} characters."),
                field_error(J.form_error, "form-error"),
                submit_button("Create the account", J.submitting),
                spacing="4",
                width="100%",
            ),
            on_submit=J.submit,
            reset_on_submit=False,
            no_validate=True,
            width="100%",
        ),
        rx.text(
            "Already have an account with this email? ",
            rx.link("Sign in to accept", href=J.join_login_url, id="join-sign-in"),
            ".",
            size="2",
        ),
        spacing="4",
        width="100%",
    )


def _live() -> rx.Component:
    return rx.vstack(
        rx.heading(f"Become a tutor on {PRODUCT_NAME}", as_="h1", size="7"),
        _summary(),
        error_callout(J.invite_error, "invite-error"),
        rx.cond(
            AuthState.signed_in,
            rx.cond(J.email_matches, _accept(), _wrong_account()),
            _create_account(),
        ),
        spacing="4",
        width="100%",
    )


def _dead() -> rx.Component:
    return rx.vstack(
        rx.heading("This invitation no longer works", as_="h1", size="7"),
        rx.text(INVITE_DEAD, id="join-dead", role="status"),
        link_button("Browse tutors", href=routes.DIRECTORY, size="3", variant="soft",
                    id="join-home"),
        spacing="4",
        width="100%",
    )


@page(route=routes.TUTOR_JOIN, title=f"Become a tutor · {PRODUCT_NAME}", on_load=J.on_load)
def tutor_join() -> rx.Component:
    return account_card(
        None,
        rx.cond(
            flag(J.checked),
            rx.cond(flag(J.live), _live(), _dead()),
            muted("Checking your invitation…"),
        ),
    )
