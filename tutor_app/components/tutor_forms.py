"""Form pieces the tutor portal's editors share: labels, native selects, sections (render
only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import reflex as rx
from reflex.vars import Var

from tutor_app.components import style
from tutor_app.state.typed import cond_value

SELECT_STYLE: dict[str, Any] = {
    "padding": "0.4rem 0.6rem",
    "border": f"1px solid {rx.color('gray', 7)}",
    "border_radius": "var(--radius-3)",
    "background": style.SURFACE,
    "font_size": "0.95rem",
    "font_variant_numeric": "tabular-nums",
}


def field_label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, font_weight="500", font_size="0.875rem")


def native_select(
    options: Sequence[tuple[str, str]] | rx.Component,
    *,
    select_id: str | Var[str],
    value: Var[str] | str,
    on_change: Any,
    error: Var[str] | str = "",
    aria_label: str = "",
    **props: Any,
) -> rx.Component:
    """A plain `<select>` (fast with many options, and what a phone shows best) with the
    (value, label) `options`, or a ready `rx.foreach` of `<option>`s; marked invalid while
    `error` is not empty, and described by `#<select_id>-error`."""
    children = (
        [rx.el.option(label, value=option) for option, label in options]
        if isinstance(options, Sequence)
        else [options]
    )
    attrs: dict[str, Any] = {
        "aria-invalid": cond_value(error != "", "true", "false"),
        "aria-describedby": (select_id if isinstance(select_id, str) else select_id.to(str))
        + "-error",
    }
    if aria_label:
        attrs["aria-label"] = aria_label
    return rx.el.select(
        *children,
        id=select_id,
        name=select_id,
        value=value,
        on_change=on_change,
        custom_attrs=attrs,
        style={**SELECT_STYLE, **props.pop("style", {})},
        **props,
    )


def editor_section(title: str, section_id: str, *children: rx.Component, intro: Any = "",
                   **props: Any) -> rx.Component:
    """A card of an editor page: its h2, an optional intro line, then `children`."""
    return rx.el.section(
        rx.card(
            rx.vstack(
                rx.heading(title, as_="h2", size="4"),
                rx.cond(intro != "", rx.text(intro, size="2", color=style.MUTED_TEXT)),
                *children,
                spacing="3",
                width="100%",
            ),
            size="3",
            width="100%",
            **props,
        ),
        id=section_id,
        width="100%",
    )
