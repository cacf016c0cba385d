"""A portal's frame (the tutor's, the admin's), render only: tabs across its sections, and
the page shell that shows a visitor the portal is not for the ordinary 404 message.

The current section's link is marked (`aria-current="page"`), as in the top bar; the row
scrolls sideways on a narrow screen. Ids: `#<name>` for the nav and `#<name>-<key>` per tab.
"""

from __future__ import annotations

from typing import Any, Literal

import reflex as rx

from tutor_app.components.layout import loading_placeholder, page_layout
from tutor_app.components.not_found import missing_page_message
from tutor_app.state.typed import cond_value

Tab = tuple[str, str, str]  # (key, label, path)


def _tab(name: str, key: str, label: str, href: str) -> rx.Component:
    path = rx.State.router.url.path
    current = (path == href) | (path == href + "/")
    return rx.link(
        label,
        href=href,
        size="2",
        weight="medium",
        underline="none",
        color=cond_value(current, rx.color("accent", 11), rx.color("gray", 11)),
        padding_x="0.75rem",
        padding_y="0.5rem",
        border_bottom=cond_value(
            current, f"2px solid {rx.color('accent', 9)}", "2px solid transparent"
        ),
        custom_attrs={"aria-current": cond_value(current, "page", "false")},
        id=f"{name}-{key}",
        white_space="nowrap",
    )


def section_tabs(tabs: tuple[Tab, ...], *, name: str, label: str) -> rx.Component:
    """`tabs` as one row of links, in a `<nav>` named `label` for screen readers."""
    return rx.el.nav(
        rx.hstack(*[_tab(name, *tab) for tab in tabs], spacing="1"),
        aria_label=label,
        id=name,
        width="100%",
        overflow_x="auto",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
    )


def portal_page(
    *content: rx.Component,
    loaded: rx.Var[bool] | bool,
    allowed: rx.Var[bool] | bool,
    heading: rx.Var[str] | str,
    not_found_id: str,
    placeholder_height: str,
    spacing: Literal["4", "5"],
    **layout: Any,
) -> rx.Component:
    """Placeholders while loading; then the h1 `heading` and `content`, or the missing-page
    message for anybody the page is not for (it must look like any 404). `layout` styles the
    page's column (`page_layout`)."""
    return page_layout(
        rx.cond(
            loaded,
            rx.cond(
                allowed,
                rx.vstack(rx.heading(heading, as_="h1", size="7"), *content, spacing=spacing,
                          width="100%"),
                missing_page_message(id=not_found_id),
            ),
            loading_placeholder(*[rx.box(height=placeholder_height, width="100%")
                                  for _ in range(3)], spacing="4"),
        ),
        **layout,
    )
