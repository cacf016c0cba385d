"""`/dev/checkout`: the dev test-checkout page (render only; see `state/dev_checkout.py`).

Stands in for Stripe's hosted page when no Stripe key is configured in dev: it shows what is
being paid for and pays nothing real. In prod it only says that it is unavailable.
"""

from __future__ import annotations

import reflex as rx

from tutor_app.components import style
from tutor_app.components.alerts import error_callout
from tutor_app.components.layout import page_layout
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.auth import AuthState
from tutor_app.state.dev_checkout import DevCheckoutState
from tutor_app.state.typed import page

S = DevCheckoutState


def _row(label: str, value: rx.Var[str] | str, row_id: str) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color=style.MUTED_TEXT, min_width="6rem"),
        rx.text(value, size="3", weight="medium", id=row_id),
        spacing="3",
        align="baseline",
        width="100%",
    )


def _summary() -> rx.Component:
    return rx.vstack(
        _row("Tutor", S.tutor_name, "dev-tutor"),
        _row("When", S.when, "dev-when"),
        rx.cond(
            S.when_tutor != S.when,
            _row("Tutor's time", S.when_tutor, "dev-when-tutor"),
        ),
        _row("Length", S.duration, "dev-length"),
        _row("Amount", S.amount, "dev-amount"),
        spacing="3",
        width="100%",
    )


def _actions() -> rx.Component:
    return rx.vstack(
        error_callout(S.error, "dev-pay-error"),
        rx.match(
            S.status,
            (
                "open",
                rx.button(
                    rx.cond(S.paying, "Paying…", rx.text("Pay ", S.amount)),
                    id="pay-button",
                    size="3",
                    width="100%",
                    loading=S.paying,
                    disabled=S.paying,
                    on_click=DevCheckoutState.pay,
                ),
            ),
            (
                "paid",
                rx.text("This session is already paid.", id="dev-paid", size="2"),
            ),
            rx.text("This checkout session has expired. Please book again.",
                    id="dev-expired", size="2", color=rx.color("red", 11)),
        ),
        rx.link("Cancel and go back", href=S.cancel_url, id="dev-cancel", size="2"),
        spacing="3",
        width="100%",
        align="center",
    )


def _checkout_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.badge("Test mode", color_scheme="amber", size="2"),
            rx.heading("Test checkout — no real money", as_="h1", size="6", id="dev-title"),
            rx.text(
                "Payments are simulated on this machine because no Stripe key is configured. "
                "Paying sends the same signed event Stripe would to the app's webhook.",
                size="2",
                color=style.MUTED_TEXT,
            ),
            _summary(),
            _actions(),
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _message(title: str, text: str, box_id: str) -> rx.Component:
    return rx.vstack(
        rx.heading(title, as_="h1", size="6"),
        rx.text(text, size="3", color=style.MUTED_TEXT),
        rx.link("Find a tutor", href=routes.DIRECTORY),
        spacing="3",
        id=box_id,
    )


@page(
    route=routes.DEV_CHECKOUT,
    title=f"Test checkout · {PRODUCT_NAME}",
    on_load=[AuthState.load_user, DevCheckoutState.load],
)
def dev_checkout() -> rx.Component:
    return page_layout(
        rx.cond(
            S.available,
            rx.cond(
                S.found,
                _checkout_card(),
                _message("Checkout session not found",
                         "This test checkout link is not valid. Please book again.",
                         "dev-not-found"),
            ),
            _message("Test checkout is unavailable",
                     "Payments here go through Stripe; this page is only for development.",
                     "dev-unavailable"),
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )
