"""The wizard's step indicator: where the student is, what is done, what is still ahead.

Render-only: it takes the current step and the furthest reachable one as vars and an event to
call with a step number; which steps may be visited is decided by the state.

Plain elements styled by one stylesheet (`indicator_styles()`, once on the page), their look
chosen by `data-state` and `aria-current`: a step change then only flips attributes, where
per-step emotion styles (a colour, a background, a cursor each depending on the step) made
every render serialize and insert new CSS rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx
from reflex.vars import NumberVar

from tutor_app.state.typed import cond_value

# Radix breakpoint md (1024px): the labels show from there, "Step n of m" below it.
_STYLES = """
.wz-steps{width:100%}
.wz-steps ol{display:flex;align-items:center;gap:.5rem;padding:0;margin:0}
.wz-steps li{list-style:none;display:flex;align-items:center}
.wz-steps li.wz-item{flex:0 0 auto}
.wz-steps li.wz-link{flex:1;min-width:.75rem}
.wz-bar{height:2px;width:100%;background:var(--gray-5)}
.wz-link[data-done=true] .wz-bar{background:var(--accent-8)}
.wz-step{display:flex;align-items:center;gap:.5rem;background:transparent;border:none;
padding:.25rem;margin:0;font:inherit;color:inherit;cursor:default}
.wz-step:enabled{cursor:pointer}
.wz-step:focus-visible{outline:2px solid var(--focus-8);outline-offset:2px}
.wz-marker{display:flex;align-items:center;justify-content:center;width:1.75rem;
height:1.75rem;flex-shrink:0;border-radius:9999px;font-size:.8rem;font-weight:600;
color:var(--gray-11);background:var(--gray-4)}
.wz-step[data-state=here] .wz-marker{color:white;background:var(--accent-9)}
.wz-step[data-state=done] .wz-marker{color:white;background:var(--accent-8)}
.wz-label{display:none;white-space:nowrap;font-size:var(--font-size-2);
line-height:var(--line-height-2);letter-spacing:var(--letter-spacing-2);color:var(--gray-11)}
.wz-step[data-state=here] .wz-label{font-weight:var(--font-weight-bold);color:var(--gray-12)}
.wz-count{display:block;margin:.5rem 0 0;font-size:var(--font-size-1);
line-height:var(--line-height-1);color:var(--gray-11)}
@media (min-width:1024px){.wz-label{display:inline}.wz-count{display:none}}
"""


def indicator_styles() -> rx.Component:
    """The indicator's stylesheet; put it once on the page that shows the indicator."""
    return rx.el.style(custom_attrs={"dangerouslySetInnerHTML": {"__html": _STYLES}})


def _step(
    number: int,
    label: str,
    current: NumberVar[int],
    reachable: NumberVar[Any],
    on_select: Callable[[int], Any],
) -> rx.Component:
    done = current > number
    here = current == number
    clickable = (reachable >= number) & ~here
    return rx.el.li(
        rx.el.button(
            rx.el.span(
                rx.cond(done, rx.icon("check", size=14, aria_hidden="true"), str(number)),
                class_name="wz-marker",
            ),
            rx.el.span(label, class_name="wz-label"),
            on_click=on_select(number),
            disabled=~clickable,
            type="button",
            class_name="wz-step",
            custom_attrs={
                "data-state": cond_value(here, "here", cond_value(done, "done", "ahead")),
                "aria-current": cond_value(here, "step", "false"),
                "aria-label": f"Step {number}: {label}",
            },
        ),
        class_name="wz-item",
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
                    rx.el.div(class_name="wz-bar"),
                    class_name="wz-link",
                    aria_hidden="true",
                    custom_attrs={"data-done": cond_value(current > index, "true", "false")},
                )
            )
    return rx.el.nav(
        rx.el.ol(*items),
        rx.el.p("Step ", current.to_string(), " of ", str(len(labels)), class_name="wz-count"),
        aria_label="Booking steps",
        id="steps",
        class_name="wz-steps",
    )
