"""The wizard's "you have a payment in progress" banner; render only (`#resume-checkout`)."""

from __future__ import annotations

import reflex as rx

from tutor_app.state.resume_checkout import ResumeCheckoutState

R = ResumeCheckoutState


def resume_banner() -> rx.Component:
    """Shown when the student left an open checkout session: one click takes them back."""
    return rx.cond(
        R.resume_url != "",
        rx.callout(
            rx.flex(
                rx.text(
                    "You have a payment in progress for ", rx.text.strong(R.resume_tutor),
                    ", ", R.resume_when, ". The time is held for you until ", R.resume_until,
                    ".",
                    size="2",
                ),
                # A plain <a>: a full-page load of Stripe's (or the dev) checkout page.
                rx.button(
                    rx.el.a("Resume payment", href=R.resume_url, id="resume-checkout-link"),
                    as_child=True,
                    size="2",
                ),
                gap="0.75rem",
                align="center",
                justify="between",
                wrap="wrap",
                width="100%",
            ),
            icon="credit-card",
            color_scheme="blue",
            width="100%",
            id="resume-checkout",
        ),
    )
