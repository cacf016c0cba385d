"""The day/time picker: a month-style calendar of days and the chosen day's time buttons.

Used by the booking wizard (step 3) and the dashboard's reschedule dialog; each passes its
own state vars and handlers (cells and times come from `tutor_app.scheduling.slot_calendar`). Render
only. Stable hooks for the browser tests: day buttons carry `data-day="YYYY-MM-DD"` (viewer's
zone), time buttons `data-start="<UTC ISO>"`, and both `aria-pressed`.

The cells and buttons are plain elements styled by one stylesheet (`picker_styles()`, once
per page that shows a picker): ~70 day cells as Radix buttons (each with its emotion styles
and two text components) made the wizard's step 3 the slowest thing on the page to render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from reflex.vars import ArrayVar, Var

from tutor_app.components import style
from tutor_app.state.typed import Row, cond_value

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# A handler of the caller's state applied to the clicked day key / start, e.g. S.choose_day.
Choose = Callable[[Var[str]], EventSpec]

_STYLES = """
.sp-cal{display:grid;grid-template-columns:repeat(7,minmax(0,1fr));gap:.25rem;width:100%}
.sp-wd{font-size:var(--font-size-1);font-weight:500;color:var(--gray-11);text-align:center}
.sp-day{display:flex;flex-direction:column;align-items:center;justify-content:center;
height:2.25rem;width:100%;margin:0;padding:0;border:0;border-radius:var(--radius-3);
font:inherit;font-size:var(--font-size-2);line-height:1.1;font-variant-numeric:tabular-nums;
background:transparent;color:var(--gray-8)}
button.sp-day{cursor:pointer;background:var(--accent-a3);color:var(--accent-a11)}
button.sp-day:hover{background:var(--accent-a4)}
button.sp-day:disabled{cursor:default;background:transparent;color:var(--gray-a8)}
.sp-day[aria-pressed=true],.sp-time[aria-pressed=true]{background:var(--accent-9);
color:var(--accent-contrast)}
.sp-day:focus-visible,.sp-time:focus-visible{outline:2px solid var(--focus-8);
outline-offset:2px}
.sp-day::before{content:attr(data-month);display:block;height:.75rem;font-size:.625rem;
line-height:1;font-weight:500;text-transform:uppercase}
.sp-times{display:flex;flex-wrap:wrap;gap:.5rem}
.sp-time{min-width:4.5rem;height:var(--space-6);padding:0 var(--space-3);margin:0;
border-radius:var(--radius-3);font:inherit;font-size:var(--font-size-2);
font-variant-numeric:tabular-nums;cursor:pointer;background:transparent;
color:var(--accent-a11);box-shadow:inset 0 0 0 1px var(--accent-a8);border:0}
.sp-time:hover{background:var(--accent-a2)}
"""


def picker_styles() -> rx.Component:
    """The picker's stylesheet; put it once on a page (or dialog) that shows a picker."""
    return rx.el.style(custom_attrs={"dangerouslySetInnerHTML": {"__html": _STYLES}})


def _day_cell(cell: Row, selected_day: Var[str] | str, on_choose: Choose) -> rx.Component:
    key = cell["key"].to(str)
    enabled = cell["enabled"].to(bool)
    # The month's short name (first of a month) is drawn by CSS from `data-month`: one
    # element per cell instead of two.
    month = cell["month"].to(str)
    return rx.cond(
        cell["in_range"].to(bool),
        rx.el.button(
            cell["label"],
            on_click=on_choose(key),
            disabled=~enabled,
            type="button",
            class_name="sp-day",
            custom_attrs={
                "data-day": key,
                "data-month": month,
                "aria-pressed": cond_value(key == selected_day, "true", "false"),
                "aria-label": cond_value(enabled, key + ", " + cell["count"].to_string()
                                      + " free times", key + ", no free times"),
            },
        ),
        rx.el.div(cell["label"], class_name="sp-day", aria_hidden="true",
                  custom_attrs={"data-month": month}),
    )


def day_calendar(
    cells: ArrayVar[list[Any]], *, selected_day: Var[str] | str, on_choose: Choose, calendar_id: str
) -> rx.Component:
    """Weekday headings and one cell per day (`slot_calendar.CalendarCell`), 7 columns."""
    return rx.el.div(
        *[rx.el.div(day, class_name="sp-wd") for day in WEEKDAYS],
        rx.foreach(cells, lambda cell: _day_cell(cell, selected_day, on_choose)),
        class_name="sp-cal",
        id=calendar_id,
    )


def _time_button(option: Row, selected_start: Var[str] | str, on_choose: Choose) -> rx.Component:
    start = option["start"].to(str)
    return rx.el.button(
        option["label"],
        on_click=on_choose(start),
        type="button",
        class_name="sp-time",
        custom_attrs={"data-start": start,
                      "aria-pressed": cond_value(start == selected_start, "true", "false")},
    )


def day_times(
    times: ArrayVar[list[Any]],
    *,
    day_label: Var[str],
    selected_start: Var[str] | str,
    on_choose: Choose,
    times_id: str,
) -> rx.Component:
    """The chosen day spelled out, then its time buttons (`slot_calendar.TimeOption`)."""
    return rx.vstack(
        rx.heading(day_label, as_="h3", size="3"),
        rx.cond(
            times.length() > 0,
            rx.el.div(
                rx.foreach(times, lambda option: _time_button(option, selected_start, on_choose)),
                class_name="sp-times",
                id=times_id,
            ),
            rx.text("Pick a day with free times.", size="2", color=style.MUTED_TEXT),
        ),
        spacing="3",
        width="100%",
    )
