"""`/tutor/availability`: weekly hours, dates that differ, booking rules and a preview of the
free starts students see.

The week is a grid a tutor can use without reading anything: one row per weekday, each range
a pair of time selects with a remove button, "Add hours" under them, "Copy Monday to
weekdays" above. Ids the browser tests use: per weekday `#hours-<day>` (mon..sun),
`#add-<day>`, selects `#<day>-<n>-start` / `#<day>-<n>-end`, `#remove-<day>-<n>`,
`#<day>-error`; `#copy-monday`, `#buffer`, `#min-notice`, `#horizon`, `#save-hours`,
`#hours-notice`, `#outside-lessons` (rows `.outside-lesson`). Date overrides: kind buttons
`#kind-day_off`, `#kind-time_off`, `#kind-hours`, `#override-date`, `#override-end`,
`#override-note`, the ranges of other hours on one date as the week's with the key `one-date`
(`#one-date-<n>-start`, `#add-one-date`, `#one-date-error`), `#override-keep-weekly`,
`#add-override`, `#override-notice`, the list `#overrides` (rows `#override-<id>` with
`#remove-override-<id>`). The preview: `#preview-lengths`, `#preview-calendar` (days with
`data-day`), `#preview-times` (buttons with `data-start`).
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ArrayVar, NumberVar, StringVar, Var

from tutor_app.components import style
from tutor_app.components.admin_forms import admin_edit_banner
from tutor_app.components.alerts import notice_callout
from tutor_app.components.slot_picker import day_calendar, day_times, picker_styles
from tutor_app.components.tutor_forms import editor_section, field_label, native_select
from tutor_app.components.tutor_nav import tutor_editor_page, tutor_nav
from tutor_app.core import routes, timefmt
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.pages.login import field_error
from tutor_app.state.tutor_availability import (
    DAY_OFF,
    OTHER_HOURS,
    OVERRIDE_KEY,
    TIME_OFF,
    TutorAvailabilityState,
)
from tutor_app.state.typed import Row, array, cond_value, flag, handler, page, row
from tutor_app.tutors import hours

S = TutorAvailabilityState
EN_DASH = timefmt.EN_DASH
_STARTS = hours.TIME_CHOICES[:-1]  # 00:00 .. 23:45
_ENDS = hours.TIME_CHOICES[1:]  # 00:15 .. 24:00


def _notice_label(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "1 day" if days == 1 else f"{days} days"
    return timefmt.format_duration(minutes)


def _horizon_label(days: int) -> str:
    weeks, rest = divmod(days, 7)
    if not rest and weeks <= 2:
        return "1 week" if weeks == 1 else f"{weeks} weeks"
    return f"{days} days"


# --- the range editor (a weekday, or the one-date hours) ----------------------------------


def _time_select(key: StringVar[str], index: NumberVar[int], which: int, value: Var[str],
                 choices: tuple[str, ...]) -> rx.Component:
    part = "start" if which == 0 else "end"
    # The ~96 times as one array literal mapped to options: a fraction of the page's size of
    # writing every <option> out in each select.
    times = rx.Var.create(list(choices)).to(list[str])
    return native_select(
        rx.foreach(times, lambda t: rx.el.option(t, value=t)),
        select_id=key + "-" + index.to_string() + f"-{part}",
        value=value,
        on_change=lambda chosen: handler(S.set_time)(key, index, which, chosen),
        aria_label=f"{'Starts' if which == 0 else 'Ends'} at",
    )


def _range_row(key: StringVar[str], pair: ArrayVar[list[str]], index: NumberVar[int]
               ) -> rx.Component:
    return rx.hstack(
        _time_select(key, index, 0, pair[0].to(str), _STARTS),
        rx.text(EN_DASH, aria_hidden="true"),
        _time_select(key, index, 1, pair[1].to(str), _ENDS),
        rx.icon_button(
            rx.icon("x", size=14),
            on_click=handler(S.remove_range)(key, index),
            variant="ghost",
            color_scheme="gray",
            size="1",
            type="button",
            aria_label="Remove these hours",
            id="remove-" + key + "-" + index.to_string(),
        ),
        spacing="2",
        align="center",
        class_name="hours-range",
    )


def _ranges(key: StringVar[str], ranges: ArrayVar[list[list[str]]], error: Var[str] | str,
            empty_text: str) -> rx.Component:
    """The ranges of weekday `key` (or of the one-date editor), "Add hours" and the message."""
    return rx.vstack(
        rx.cond(
            ranges.length() > 0,
            rx.foreach(ranges, lambda pair, index: _range_row(key, pair, index)),
            rx.text(empty_text, size="2", color=style.MUTED_TEXT, class_name="no-hours"),
        ),
        rx.button(
            rx.icon("plus", size=14, aria_hidden="true"),
            "Add hours",
            on_click=handler(S.add_range)(key),
            variant="ghost",
            size="1",
            type="button",
            id="add-" + key,
            disabled=ranges.length() >= hours.MAX_RANGES,
        ),
        rx.cond(
            error != "",
            rx.text(error, id=key + "-error", role="alert", size="2",
                    color=rx.color("red", 11)),
        ),
        spacing="2",
        align="start",
    )


# One row per weekday, rendered from one template: seven copies of the range editor would
# make the page several times larger.
_DAYS = rx.Var.create([{"key": d, "label": hours.DAY_NAMES[d]} for d in hours.DAYS]).to(
    list[dict[str, str]]
)


def _day_row(day: Row) -> rx.Component:
    key = day["key"].to(str)
    ranges = row(S.week)[key].to(list[list[str]])
    error = row(S.day_errors)[key].to(str)
    return rx.flex(
        rx.text(day["label"].to(str), weight="medium", size="2", width="7rem",
                padding_top="0.35rem", flex_shrink="0"),
        _ranges(key, ranges, error, "Unavailable"),
        gap="0.75rem",
        direction=rx.breakpoints(initial="column", sm="row"),
        padding_y="0.75rem",
        border_bottom=style.SUBTLE_BORDER,
        width="100%",
        id="hours-" + key,
        custom_attrs={"aria-invalid": cond_value(error != "", "true", "false")},
    )


# --- sections -------------------------------------------------------------------------------


def _rule(label: str, select_id: str, options: list[tuple[str, str]], value: Var[str] | str,
          on_change: Any, error: Var[str] | str, hint: str) -> rx.Component:
    return rx.vstack(
        field_label(label, select_id),
        native_select(options, select_id=select_id, value=value, on_change=on_change,
                      error=error),
        rx.text(hint, size="1", color=style.MUTED_TEXT),
        field_error(error, f"{select_id}-error"),
        spacing="1",
        min_width="12rem",
    )


def _week() -> rx.Component:
    return editor_section(
        "Weekly hours",
        "weekly-hours",
        rx.flex(
            rx.text("In your time zone, ", rx.text.strong(S.zone_label), ".", size="2",
                    color=style.MUTED_TEXT),
            rx.button("Copy Monday to weekdays", on_click=S.copy_monday_to_weekdays,
                      variant="soft", size="1", type="button", id="copy-monday"),
            justify="between",
            align="center",
            wrap="wrap",
            gap="0.5rem",
            width="100%",
        ),
        rx.vstack(rx.foreach(_DAYS, _day_row), spacing="0", width="100%"),
        field_error(row(S.day_errors)[hours.WEEK_FIELD].to(str), "week-error"),
    )


def _rules() -> rx.Component:
    return editor_section(
        "Booking rules",
        "booking-rules",
        rx.flex(
            _rule("Break between lessons", "buffer",
                  [(str(m), "None" if m == 0 else f"{m} min") for m in hours.BUFFER_CHOICES],
                  S.buffer, S.set_buffer, S.buffer_error,
                  "Free time kept after each lesson."),
            _rule("Minimum notice", "min-notice",
                  [(str(m), _notice_label(m)) for m in hours.NOTICE_CHOICES],
                  S.min_notice, S.set_min_notice, S.notice_error,
                  "How soon before a lesson students may book it."),
            _rule("Booking window", "horizon",
                  [(str(d), _horizon_label(d)) for d in hours.HORIZON_CHOICES],
                  S.horizon, S.set_horizon, S.horizon_error,
                  "How far ahead students may book."),
            gap="1.25rem",
            wrap="wrap",
        ),
    )


def _save() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.button("Save hours", on_click=S.save_hours, loading=S.saving, size="3",
                      type="button", id="save-hours"),
            rx.text("Saving never cancels or moves a booked lesson.", size="1",
                    color=style.MUTED_TEXT),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        notice_callout(S.hours_notice, "hours-notice"),
        _outside(),
        spacing="3",
        width="100%",
    )


def _outside_row(lesson: Row) -> rx.Component:
    return rx.el.li(
        rx.text(lesson["when"].to(str), weight="medium", as_="span"),
        rx.text(" \u2014 ", lesson["student"].to(str), as_="span", color=style.MUTED_TEXT),
        class_name="outside-lesson",
        custom_attrs={"data-booking": lesson["id"].to(str)},
    )


def _outside() -> rx.Component:
    return rx.cond(
        flag(S.outside_checked) & (array(S.outside).length() > 0),
        rx.callout.root(
            rx.callout.icon(rx.icon("calendar-clock")),
            rx.vstack(
                rx.callout.text(hours.OUTSIDE_NOTICE),
                rx.el.ul(rx.foreach(array(S.outside), _outside_row), margin="0",
                         padding_left="1.25rem"),
                rx.link("Go to your lessons", href=routes.TUTOR_PORTAL, size="2"),
                spacing="2",
            ),
            color_scheme="amber",
            role="status",
            id="outside-lessons",
            width="100%",
        ),
    )


def _kind_button(kind: str, label: str) -> rx.Component:
    chosen = S.override_kind == kind
    return rx.button(
        label,
        on_click=handler(S.set_override_kind)(kind),
        variant=cond_value(chosen, "solid", "soft"),
        size="2",
        type="button",
        id=f"kind-{kind}",
        custom_attrs={"aria-pressed": cond_value(chosen, "true", "false")},
    )


def _date_input(label: str, input_id: str, value: Var[str] | str, on_change: Any,
                error: Var[str] | str) -> rx.Component:
    return rx.vstack(
        field_label(label, input_id),
        rx.input(type="date", id=input_id, value=value, on_change=on_change, min=S.today,
                 custom_attrs={"aria-describedby": f"{input_id}-error"}),
        field_error(error, f"{input_id}-error"),
        spacing="1",
    )


def _override_form() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _kind_button(DAY_OFF, "Day off"),
            _kind_button(TIME_OFF, "Time off (several days)"),
            _kind_button(OTHER_HOURS, "Other hours on one date"),
            spacing="2",
            wrap="wrap",
            role="group",
            aria_label="What kind of change",
        ),
        rx.flex(
            _date_input(
                "Date",
                "override-date",
                S.override_date,
                S.set_override_date,
                S.override_date_error,
            ),
            rx.cond(
                S.override_kind == TIME_OFF,
                _date_input("Last day", "override-end", S.override_end, S.set_override_end,
                            S.override_end_error),
            ),
            gap="1rem",
            wrap="wrap",
        ),
        rx.cond(
            S.override_kind == OTHER_HOURS,
            rx.vstack(
                _ranges(rx.Var.create(OVERRIDE_KEY).to(str), array(S.override_ranges),
                        S.override_hours_error,
                        "No hours yet"),
                rx.el.label(
                    rx.checkbox(checked=S.override_keep_weekly,
                                on_change=S.set_override_keep_weekly,
                                id="override-keep-weekly"),
                    rx.text("Keep my weekly hours that day and add these", size="2"),
                    display="flex",
                    align_items="center",
                    gap="0.5rem",
                ),
                spacing="2",
            ),
        ),
        rx.vstack(
            field_label("Note (only you see it)", "override-note"),
            rx.input(id="override-note", value=S.override_note, on_change=S.set_override_note,
                     max_length=hours.MAX_NOTE_LENGTH, placeholder="e.g. Holiday",
                     custom_attrs={"aria-describedby": "override-note-error"}, width="100%"),
            field_error(S.override_note_error, "override-note-error"),
            spacing="1",
            width="100%",
            max_width="24rem",
        ),
        rx.button(
            rx.match(
                S.override_kind,
                (TIME_OFF, "Add time off"),
                (OTHER_HOURS, "Save these hours"),
                "Add day off",
            ),
            on_click=S.add_override,
            type="button",
            id="add-override",
        ),
        notice_callout(S.override_notice, "override-notice"),
        spacing="3",
        width="100%",
    )


def _override_row(override: Row) -> rx.Component:
    override_id = override["id"].to(str)
    return rx.hstack(
        rx.vstack(
            rx.text(override["day"].to(str), weight="medium", size="2"),
            rx.text(override["hours"].to(str), size="2", class_name="override-hours"),
            rx.cond(override["note"].to(str) != "",
                    rx.text(override["note"].to(str), size="1", color=style.MUTED_TEXT)),
            spacing="0",
            flex="1",
        ),
        rx.button("Remove", on_click=handler(S.remove_override)(override_id), variant="soft",
                  color_scheme="gray", size="1", type="button",
                  id="remove-override-" + override_id),
        align="center",
        width="100%",
        padding_y="0.5rem",
        border_bottom=style.SUBTLE_BORDER,
        id="override-" + override_id,
        class_name="override",
    )


def _overrides() -> rx.Component:
    return editor_section(
        "Days that differ",
        "date-overrides",
        _override_form(),
        rx.heading("Coming up", as_="h3", size="3", margin_top="0.5rem"),
        rx.cond(
            array(S.overrides).length() > 0,
            rx.vstack(rx.foreach(array(S.overrides), _override_row), spacing="0",
                      width="100%", id="overrides"),
            rx.text("None: your weekly hours apply every day.", size="2",
                    color=style.MUTED_TEXT, id="overrides"),
        ),
        intro="A day off, a holiday, or other hours on one date. These replace your weekly "
              "hours on those dates.",
    )


def _length_button(option: Row) -> rx.Component:
    minutes = option["minutes"].to(int)
    chosen = S.preview_duration == minutes
    return rx.button(
        option["label"].to(str),
        on_click=handler(S.choose_preview_length)(minutes),
        variant=cond_value(chosen, "solid", "soft"),
        size="1",
        type="button",
        custom_attrs={"aria-pressed": cond_value(chosen, "true", "false")},
    )


def _preview() -> rx.Component:
    return editor_section(
        "What students see",
        "availability-preview",
        picker_styles(),
        rx.hstack(rx.foreach(S.preview_length_options, _length_button), spacing="2",
                  wrap="wrap", id="preview-lengths"),
        rx.text(S.preview_summary, size="2", id="preview-summary"),
        day_calendar(S.preview_calendar, selected_day=S.preview_day,
                     on_choose=handler(S.choose_preview_day), calendar_id="preview-calendar"),
        day_times(S.preview_times, day_label=S.preview_day_label,
                  selected_start=S.preview_start, on_choose=handler(S.choose_preview_start),
                  times_id="preview-times"),
        intro="The free starts of your saved hours, as the booking page offers them, shown "
              "in your time zone.",
    )


def _editor() -> rx.Component:
    return rx.vstack(
        tutor_nav(),
        admin_edit_banner(S.admin_editing, S.edit_reason, S.set_edit_reason,
                          S.reason_error),
        rx.grid(
            rx.vstack(_week(), _rules(), _save(), _overrides(), spacing="4", width="100%"),
            rx.box(_preview(), position=rx.breakpoints(initial="static", md="sticky"),
                   top="5rem", width="100%"),
            grid_template_columns=rx.breakpoints(initial="1fr", md="3fr 2fr"),
            gap="1.5rem",
            width="100%",
            align_items="start",
        ),
        spacing="5",
        width="100%",
    )


@page(route=routes.TUTOR_AVAILABILITY, title=f"Your hours · {PRODUCT_NAME}", on_load=S.load)
def tutor_availability() -> rx.Component:
    return tutor_editor_page(loaded=S.loaded, found=S.found, heading="Your hours",
                             editor=_editor(), placeholder_height="12rem")
