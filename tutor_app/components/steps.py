"""The wizard's step indicator: where the student is, what is done, what is still ahead.

Render-only: it takes the current step and the furthest reachable one as vars and an event to
call with a step number; which steps may be visited is decided by the state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx
from reflex.vars import NumberVar

from tutor_app.components import style
from tutor_app.state.typed import cond_value


def _marker(number: int, current: NumberVar[int]) -> rx.Component:
    done = current > number
    here = current == number
    return rx.center(
        rx.cond(done, rx.icon("check", size=14, aria_hidden="true"), rx.text(str(number))),
        width="1.75rem",
        height="1.75rem",
        flex_shrink="0",
        border_radius="9999px",
        font_size="0.8rem",
        font_weight="600",
        color=cond_value(done | here, "white", rx.color("gray", 11)),
        background=cond_value(
            here,
            rx.color("accent", 9),
            cond_value(done, rx.color("accent", 8), rx.color("gray", 4)),
        ),
    )


def _step(
    number: int,
    label: str,
    current: NumberVar[int],
    reachable: NumberVar[Any],
    on_select: Callable[[int], Any],
) -> rx.Component:
    here = current == number
    clickable = (reachable >= number) & ~here
    return rx.el.li(
        rx.el.button(
            _marker(number, current),
            rx.text(
                label,
                size="2",
                weight=cond_value(here, "bold", "regular"),
                color=cond_value(here, rx.color("gray", 12), style.MUTED_TEXT),
                display=["none", "none", "inline"],
                white_space="nowrap",
            ),
            on_click=on_select(number),
            disabled=~clickable,
            type="button",
            custom_attrs={
                "aria-current": cond_value(here, "step", "false"),
                "aria-label": f"Step {number}: {label}",
            },
            display="flex",
            align_items="center",
            gap="0.5rem",
            background="transparent",
            border="none",
            padding="0.25rem",
            cursor=cond_value(clickable, "pointer", "default"),
        ),
        list_style="none",
        display="flex",
        align_items="center",
        flex="0 0 auto",
    )


def step_indicator(
    labels: Sequence[str],
    *,
    current: NumberVar[int],
    reachable: NumberVar[Any],
    on_select: Callable[[int], Any],
) -> rx.Component:
    """Numbered steps in a row; done ones show a check and can be clicked to go back."""
    items: list[rx.Component] = []
    for index, label in enumerate(labels, start=1):
        items.append(_step(index, label, current, reachable, on_select))
        if index < len(labels):
            items.append(
                rx.el.li(
                    rx.box(
                        height="2px",
                        width="100%",
                        background=cond_value(
                            current > index, rx.color("accent", 8), rx.color("gray", 5)
                        ),
                    ),
                    list_style="none",
                    flex="1",
                    min_width="0.75rem",
                    aria_hidden="true",
                )
            )
    return rx.el.nav(
        rx.el.ol(*items, display="flex", align_items="center", gap="0.5rem", padding="0",
                 margin="0"),
        rx.text(
            "Step ", current.to_string(), " of ", str(len(labels)),
            size="1", color=style.MUTED_TEXT, display=["block", "block", "none"],
            margin_top="0.5rem",
        ),
        aria_label="Booking steps",
        id="steps",
        width="100%",
    )
