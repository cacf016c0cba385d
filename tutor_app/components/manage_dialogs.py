"""The dashboard's "Reschedule" and "Cancel" buttons and their two dialogs; render only.

`manage_buttons(lesson)` goes on each lesson card (shown for scheduled lessons): buttons
`#reschedule-<id>` and `#cancel-<id>`. `manage_dialogs()` goes once on the page: the cancel
dialog (the policy's sentence, then `#confirm-cancel`), the reschedule dialog (a day calendar
and the free times of the chosen day, like the wizard's step 3, then `#confirm-reschedule`)
and the notice (`#manage-notice`) saying what the last change did.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var

from tutor_app.components import slot_picker, style
from tutor_app.state.manage_lesson import ManageLessonState
from tutor_app.state.typed import Handler, Row, array, cond_value, flag, handler

M = ManageLessonState
SCHEDULED_LABEL = "Scheduled"  # DashboardState's status label of a SCHEDULED lesson


def manage_buttons(lesson: Row) -> rx.Component:
    """Reschedule and Cancel for one lesson card (scheduled lessons only)."""
    booking_id = lesson["id"].to(str)
    return rx.cond(
        lesson["status"].to(str) == SCHEDULED_LABEL,
        rx.hstack(
            rx.button(
                rx.icon("calendar-clock", size=14, aria_hidden="true"),
                "Reschedule",
                on_click=handler(M.open_reschedule)(booking_id),
                variant="soft",
                size="2",
                id="reschedule-" + booking_id,
            ),
            rx.button(
                rx.icon("x", size=14, aria_hidden="true"),
                "Cancel",
                on_click=handler(M.open_cancel)(booking_id),
                variant="soft",
                color_scheme="red",
                size="2",
                id="cancel-" + booking_id,
            ),
            spacing="2",
            wrap="wrap",
        ),
    )


def _error(text: Var[str] | str, error_id: str) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, icon="triangle-alert", color_scheme="red", size="1", width="100%",
                   id=error_id, role="alert"),
    )


def _dialog(
    title: str,
    *body: rx.Component,
    close: rx.Component,
    confirm: rx.Component,
    max_width: str,
    dialog_id: str,
    open: Var[bool],
    on_open_change: Handler,
) -> rx.Component:
    """Both dialogs' frame: the title, the body, then the close and confirm buttons."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            rx.vstack(
                *body,
                rx.hstack(
                    rx.dialog.close(close),
                    confirm,
                    spacing="3",
                    justify="end",
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            max_width=max_width,
            id=dialog_id,
        ),
        open=open,
        on_open_change=on_open_change,
    )


def _cancel_dialog() -> rx.Component:
    return _dialog(
        "Cancel this lesson?",
        rx.text(M.cancel_lesson_label, size="2", weight="medium"),
        rx.text(M.cancel_message, size="3", id="cancel-refund-message"),
        _error(M.cancel_error, "cancel-error"),
        close=rx.button("Keep lesson", variant="soft", color_scheme="gray",
                        disabled=M.canceling, id="keep-lesson"),
        confirm=rx.button(
            cond_value(M.canceling, "Canceling…", "Cancel lesson"),
            on_click=M.confirm_cancel,
            color_scheme="red",
            loading=M.canceling,
            disabled=~flag(M.cancel_allowed),
            id="confirm-cancel",
        ),
        max_width="28rem",
        dialog_id="cancel-dialog",
        open=flag(M.cancel_open),
        on_open_change=handler(M.set_cancel_open),
    )


def _picker() -> rx.Component:
    """The wizard's day/time picker (`components.slot_picker`), on the reschedule choices."""
    return rx.vstack(
        slot_picker.picker_styles(),
        rx.text("Times are shown in ", M.zone_label, ".", size="1", color=style.MUTED_TEXT),
        slot_picker.day_calendar(M.reschedule_calendar, selected_day=M.reschedule_day,
                                 on_choose=handler(M.choose_reschedule_day),
                                 calendar_id="reschedule-calendar"),
        slot_picker.day_times(M.reschedule_times, day_label=M.reschedule_day_label,
                              selected_start=M.reschedule_start,
                              on_choose=handler(M.choose_reschedule_start),
                              times_id="reschedule-times"),
        spacing="3",
        width="100%",
    )


def _reschedule_dialog() -> rx.Component:
    return _dialog(
        "Reschedule this lesson",
        rx.text(M.reschedule_lesson_label, size="2", weight="medium"),
        rx.text("Same tutor, same length, no new payment.", size="2",
                color=style.MUTED_TEXT),
        _error(M.reschedule_error, "reschedule-error"),
        rx.cond(
            M.reschedule_allowed,
            rx.cond(
                array(M.reschedule_slots).length() > 0,
                _picker(),
                rx.callout("No other free times in the next 60 days.",
                           icon="calendar-x", color_scheme="amber", width="100%"),
            ),
        ),
        rx.cond(
            M.reschedule_choice_label != "",
            rx.text("New time: ", rx.text.strong(M.reschedule_choice_label), size="2",
                    id="reschedule-choice"),
        ),
        close=rx.button("Close", variant="soft", color_scheme="gray", disabled=M.moving),
        confirm=rx.button(
            "Move lesson",
            on_click=M.confirm_reschedule,
            loading=M.moving,
            disabled=M.reschedule_start == "",
            id="confirm-reschedule",
        ),
        max_width="34rem",
        dialog_id="reschedule-dialog",
        open=flag(M.reschedule_open),
        on_open_change=handler(M.set_reschedule_open),
    )


def manage_dialogs() -> rx.Component:
    """Once per dashboard page: the notice and both dialogs (closed until a button opens one)."""
    return rx.fragment(
        rx.cond(
            M.notice != "",
            rx.callout(
                rx.hstack(
                    rx.text(M.notice, size="2"),
                    rx.icon_button(rx.icon("x", size=14), on_click=M.dismiss_notice,
                                   variant="ghost", size="1", aria_label="Dismiss"),
                    justify="between",
                    align="center",
                    width="100%",
                ),
                icon="circle-check",
                color_scheme="green",
                width="100%",
                id="manage-notice",
                role="status",
            ),
        ),
        _cancel_dialog(),
        _reschedule_dialog(),
    )
