"""The frame of every page: a skip link, the top bar, the page's content and the footer
(and, on a developer's own machine, the dev bar under it).

The top bar reads `AuthState` only; it triggers nothing itself. Each page lists
`AuthState.load_user` (or its own state's equivalent) in its `on_load`, which fills the bar.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var
from reflex_components_core.el.elements.base import BaseHTML
from reflex_components_core.react_router.dom import ReactRouterLink
from reflex_components_radix.themes.base import LiteralSpacing

from tutor_app.components import style
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME, get_settings
from tutor_app.state.auth import AuthState
from tutor_app.state.typed import cond_value

LOGOUT_ACTION = "/api/auth/logout"
MAIN_ID = "main-content"


class NativeForm(BaseHTML):
    """A `<form>` that the browser submits itself: a real full-page POST.

    `rx.el.form` always installs a submit handler that calls `preventDefault()` (even without
    `on_submit`), so its `action` is never followed. Sign-out must be a native POST: the server
    revokes the session, clears the HttpOnly cookie and answers 303, and the full page load
    reconnects the websocket without the cookie.
    """

    tag = "form"

    action: Var[str]
    method: Var[str]


def native_post_form(*children: rx.Component, action: str, **props: Any) -> rx.Component:
    """A form that POSTs its fields to `action` and lets the browser follow the answer."""
    return NativeForm.create(*children, action=action, method="post", **props)


def link_button(*children: rx.Component | str, href: str | Var[str], **props: Any) -> rx.Component:
    """A link that looks like a button: one `<a>` (valid HTML, no button inside a link).

    Navigation stays client-side (React Router); `props` go to `rx.button` (size, variant...).
    """
    link_props = {key: props.pop(key) for key in ("id", "aria_label") if key in props}
    return rx.button(ReactRouterLink.create(*children, to=href, **link_props), as_child=True,
                     **props)


def loading_placeholder(*boxes: rx.Component, spacing: LiteralSpacing) -> rx.Component:
    """Grey shapes of `boxes`' sizes, one under the other, while a page loads its data;
    `aria-busy` tells screen readers the content is still coming."""
    return rx.vstack(
        *[rx.skeleton(box, loading=True) for box in boxes],
        spacing=spacing,
        width="100%",
        custom_attrs={"aria-busy": "true"},
    )


def _nav_link(label: str, href: str, **props: Any) -> rx.Component:
    current = rx.State.router.url.path == href
    return rx.link(
        label,
        href=href,
        size="2",
        weight="medium",
        underline="none",
        color=cond_value(current, rx.color("accent", 11), rx.color("gray", 12)),
        padding_y="0.375rem",
        border_bottom=cond_value(
            current, f"2px solid {rx.color('accent', 9)}", "2px solid transparent"
        ),
        custom_attrs={"aria-current": cond_value(current, "page", "false")},
        **props,
    )


def _brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.center(
                rx.icon("graduation-cap", size=18, color="white"),
                width="2rem",
                height="2rem",
                border_radius="var(--radius-3)",
                background=rx.color("accent", 9),
                aria_hidden="true",
            ),
            rx.text(PRODUCT_NAME, size="5", weight="bold", color=rx.color("gray", 12)),
            spacing="2",
            align="center",
        ),
        href=routes.DIRECTORY,
        underline="none",
        aria_label=f"{PRODUCT_NAME} home",
    )


def _account_area() -> rx.Component:
    display_name = cond_value(AuthState.user_name != "", AuthState.user_name, AuthState.user_email)
    signed_in = rx.hstack(
        rx.avatar(
            fallback=cond_value(
                AuthState.user_name != "", AuthState.user_name, AuthState.user_email
            ).to(str)[0].upper(),
            size="2",
            radius="full",
            variant="soft",
            aria_hidden="true",
        ),
        rx.text(
            display_name,
            size="2",
            weight="medium",
            max_width="14rem",
            overflow="hidden",
            text_overflow="ellipsis",
            white_space="nowrap",
            display=["none", "none", "block"],
            id="signed-in-as",
        ),
        native_post_form(
            rx.button("Sign out", type="submit", variant="soft", color_scheme="gray", size="2",
                      id="sign-out"),
            action=LOGOUT_ACTION,
        ),
        spacing="3",
        align="center",
    )
    signed_out = rx.hstack(
        link_button("Sign in", href=routes.LOGIN, variant="ghost", size="2", id="sign-in"),
        link_button("Sign up", href=routes.SIGNUP, size="2", id="sign-up"),
        spacing="4",
        align="center",
    )
    return rx.cond(AuthState.signed_in, signed_in, signed_out)


def top_bar() -> rx.Component:
    """Brand, the main destinations, and the visitor's account on the right.

    On a phone the brand and the account share the first row and the links take the second;
    from the `md` breakpoint on, everything sits on one row.
    """
    return rx.el.header(
        rx.flex(
            rx.box(_brand(), order="1"),
            rx.el.nav(
                rx.hstack(
                    _nav_link("Find a tutor", routes.DIRECTORY),
                    _nav_link("Book a lesson", routes.BOOK_NOW),
                    rx.cond(
                        AuthState.signed_in,
                        _nav_link("My lessons", routes.DASHBOARD),
                    ),
                    rx.cond(
                        AuthState.is_tutor,
                        _nav_link("Teaching", routes.TUTOR_PORTAL, id="nav-teaching"),
                    ),
                    rx.cond(
                        AuthState.signed_in,
                        _nav_link("Account", routes.ACCOUNT, id="nav-account"),
                    ),
                    spacing="5",
                    align="center",
                ),
                aria_label="Main",
                order=["3", "3", "2"],
                width=["100%", "100%", "auto"],
                flex=["none", "none", "1"],
                margin_left=["0", "0", "2.5rem"],
                overflow_x="auto",
            ),
            rx.box(_account_area(), order=["2", "2", "3"], margin_left="auto"),
            align="center",
            wrap="wrap",
            column_gap="1rem",
            row_gap="0.25rem",
            style=style.content_column(),
            padding_y="0.625rem",
        ),
        position="sticky",
        top="0",
        z_index="10",
        background=rx.color("gray", 1, alpha=True),
        backdrop_filter="blur(8px)",
        border_bottom=style.SUBTLE_BORDER,
    )


def footer() -> rx.Component:
    """Where to go next, and what a visitor may want to know before paying."""
    return rx.el.footer(
        rx.flex(
            rx.vstack(
                rx.text(PRODUCT_NAME, weight="bold", size="3"),
                rx.text(style.TAGLINE, size="2", color=style.MUTED_TEXT),
                spacing="1",
            ),
            rx.hstack(
                rx.link("Find a tutor", href=routes.DIRECTORY, size="2", color_scheme="gray"),
                rx.link("Book a lesson", href=routes.BOOK_NOW, size="2", color_scheme="gray"),
                rx.cond(
                    AuthState.signed_in,
                    rx.link("My lessons", href=routes.DASHBOARD, size="2", color_scheme="gray"),
                    rx.link("Sign in", href=routes.LOGIN, size="2", color_scheme="gray"),
                ),
                spacing="5",
                wrap="wrap",
            ),
            rx.text(
                rx.icon("lock", size=12, display="inline", margin_right="0.25rem"),
                "Payments are processed securely by Stripe. Lesson times are shown in your "
                "time zone.",
                size="1",
                color=style.MUTED_TEXT,
                width="100%",
            ),
            justify="between",
            wrap="wrap",
            gap="1.25rem",
            style=style.content_column(),
            padding_y="2rem",
        ),
        border_top=style.SUBTLE_BORDER,
        background=style.SURFACE,
        margin_top="auto",
    )


def dev_bar() -> rx.Component:
    """Local dev only (`Settings.local_dev` when the pages are compiled; nothing at all in
    prod): links to the mail outbox and, while the signed-in user has one, their unpaid test
    checkout."""
    if not get_settings().local_dev:
        return rx.fragment()
    return rx.el.aside(
        rx.hstack(
            rx.badge("Local dev", color_scheme="amber", variant="soft", size="1"),
            rx.link("Mail outbox", href=routes.DEV_OUTBOX, size="1", id="dev-outbox-link"),
            rx.cond(
                AuthState.dev_checkout_url != "",
                rx.link("Finish your test checkout", href=AuthState.dev_checkout_url, size="1",
                        id="dev-checkout-link"),
            ),
            spacing="4",
            align="center",
            wrap="wrap",
            style=style.content_column(),
            padding_y="0.375rem",
        ),
        aria_label="Developer tools",
        id="dev-bar",
        border_top=style.SUBTLE_BORDER,
        background=rx.color("amber", 2),
    )


def page_layout(*children: rx.Component, **props: Any) -> rx.Component:
    """Wrap a page's content in the shared frame.

    `props` style the content column (e.g. `max_width=style.NARROW_MAX_WIDTH`).
    """
    column = {**style.content_column(props.pop("max_width", style.CONTENT_MAX_WIDTH)), **props}
    return rx.flex(
        rx.el.a("Skip to content", href=f"#{MAIN_ID}", style=style.SKIP_LINK),
        top_bar(),
        rx.el.main(
            rx.box(*children, padding_y=["1.5rem", "2rem", "2.5rem"], **column),
            id=MAIN_ID,
            tab_index=-1,
            flex="1",
            width="100%",
        ),
        footer(),
        dev_bar(),
        direction="column",
        min_height="100vh",
        background=style.PAGE_BACKGROUND,
    )
