"""The reminder to confirm one's email address, with "Resend"; render only (`#verify-reminder`).

Shown to a signed-in user whose email is not verified yet (they may book meanwhile; a lesson
paid by email only joins their account once it is).
"""

from __future__ import annotations

import reflex as rx

from tutor_app.state.auth import AuthState
from tutor_app.state.typed import flag
from tutor_app.state.verify_email import VerifyEmailState

V = VerifyEmailState


def verify_reminder() -> rx.Component:
    """"Please confirm your email address — we sent a link to X. [Resend]"."""
    unverified = AuthState.signed_in & ~flag(AuthState.user_email_verified)
    return rx.cond(
        unverified,
        rx.callout.root(
            rx.callout.icon(rx.icon("mail", aria_hidden="true")),
            rx.vstack(
                rx.flex(
                    rx.text(
                        "Please confirm your email address — we sent a link to ",
                        rx.text.strong(AuthState.user_email), ".",
                        size="2",
                    ),
                    rx.button("Resend", on_click=V.resend, size="2", variant="soft",
                              id="resend-verification"),
                    gap="0.75rem",
                    align="center",
                    justify="between",
                    wrap="wrap",
                    width="100%",
                ),
                rx.cond(
                    V.resend_notice != "",
                    rx.text(V.resend_notice, size="2", role="status", id="resend-notice"),
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme="amber",
            width="100%",
            id="verify-reminder",
        ),
    )
