"""`/payment/success` and `/payment/cancel`: where Stripe Checkout returns the student.

The success page shows "processing" until the webhook has written the booking and then the
lesson, without a reload (`PaymentState.watch_booking`); `#payment-status` holds the word
"processing" or "confirmed" for the browser tests. The cancel page leads back to the review
step with the same choices.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var
from reflex_components_radix.themes.base import LiteralSpacing

from tutor_app.components import style
from tutor_app.components.layout import link_button, page_layout
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.auth import AuthState
from tutor_app.state.payment import CONFIRMED, DELAYED, PaymentState
from tutor_app.state.typed import cond_value, page

P = PaymentState


def _status_badge() -> rx.Component:
    return rx.badge(
        P.status,
        id="payment-status",
        color_scheme=cond_value(P.status == CONFIRMED, "green", "amber"),
        size="2",
        radius="full",
        variant="soft",
        custom_attrs={"aria-live": "polite"},
    )


def _headline(lead: rx.Component, title: str) -> rx.Component:
    """Each state's page heading, after its icon (or spinner)."""
    return rx.hstack(lead, rx.heading(title, as_="h1", size="6"), spacing="3", align="center")


def _explanation(text: str) -> rx.Component:
    return rx.text(text, size="3", color=style.MUTED_TEXT)


def _processing() -> rx.Component:
    return rx.vstack(
        _headline(rx.spinner(size="3"), "Processing your payment…"),
        _explanation(
            "Thanks! Stripe is confirming your payment. This page updates by itself as soon as "
            "your lesson is booked; there is no need to refresh."
        ),
        spacing="3",
    )


def _delayed() -> rx.Component:
    return rx.vstack(
        _headline(rx.icon("hourglass", size=24, aria_hidden="true"),
                  "Your payment is still processing"),
        _explanation(
            "Some payments take longer to confirm. You don't need to pay again: your lesson "
            "will appear on your dashboard as soon as the payment goes through, and we'll "
            "email you."
        ),
        spacing="3",
    )


def _confirmed() -> rx.Component:
    return rx.vstack(
        _headline(rx.icon("circle-check", size=28, color=rx.color("green", 10),
                          aria_hidden="true"),
                  "Confirmed — your lesson is booked"),
        rx.card(
            rx.hstack(
                rx.avatar(src=P.tutor_photo_url, fallback="T", size="5", radius="full",
                          alt=P.tutor_name),
                rx.vstack(
                    rx.text(P.tutor_name, weight="bold", size="4", id="lesson-tutor"),
                    rx.text(P.when, size="3", id="lesson-when"),
                    rx.text("Tutor's time: ", P.when_tutor, size="2", color=style.MUTED_TEXT),
                    rx.hstack(
                        rx.text(P.duration, size="2", id="lesson-duration"),
                        rx.text("·", size="2", color=style.MUTED_TEXT),
                        rx.text(P.price, size="2", weight="medium", id="lesson-price"),
                        spacing="2",
                    ),
                    spacing="1",
                ),
                spacing="4",
                align="center",
            ),
            width="100%",
        ),
        rx.text("It is on your dashboard now, under Upcoming.", size="2",
                color=style.MUTED_TEXT),
        spacing="4",
        width="100%",
    )


def _return_page(*children: rx.Component | Var[Any], spacing: LiteralSpacing) -> rx.Component:
    """Both pages Stripe returns to: one card in the narrow column."""
    return page_layout(
        rx.card(
            rx.vstack(*children, spacing=spacing, width="100%"),
            size="4",
            width="100%",
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )


@page(
    route=routes.PAYMENT_SUCCESS,
    title=f"Payment · {PRODUCT_NAME}",
    on_load=[AuthState.require_login, P.load_success],
)
def payment_success() -> rx.Component:
    """Processing, then the booked lesson; links to the dashboard and to book again."""
    return _return_page(
        rx.hstack(rx.text("Status", size="2", color=style.MUTED_TEXT), _status_badge(),
                  spacing="2", align="center"),
        rx.match(
            P.status,
            (CONFIRMED, _confirmed()),
            (DELAYED, _delayed()),
            _processing(),
        ),
        rx.hstack(
            link_button("View my lessons", href=routes.DASHBOARD, size="3", id="view-lessons"),
            link_button("Book another", href=P.book_again_url, size="3", variant="soft",
                        id="book-another"),
            spacing="3",
            wrap="wrap",
        ),
        spacing="5",
    )


@page(
    route=routes.PAYMENT_CANCEL,
    title=f"Payment canceled · {PRODUCT_NAME}",
    on_load=[AuthState.load_user, P.load_cancel],
)
def payment_cancel() -> rx.Component:
    """Nothing was charged; one click back to the review step with the same choices."""
    return _return_page(
        _headline(rx.icon("circle-x", size=28, color=rx.color("gray", 10), aria_hidden="true"),
                  "Payment canceled — you were not charged"),
        _explanation(
            "Your choices are saved. Go back to the review to pay, or pick another time."
        ),
        rx.hstack(
            link_button("Back to your booking", href=P.back_url, size="3", id="back-to-review"),
            link_button("Find another tutor", href=routes.DIRECTORY, size="3", variant="soft"),
            spacing="3",
            wrap="wrap",
        ),
        spacing="4",
    )
