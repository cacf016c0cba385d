"""`/book-now`: the booking wizard (tutor, length, day and time, review, payment).

Render only: every choice is an event on `BookingWizardState`, every text comes from it.
Stable ids for the browser tests: `#step-1`..`#step-5`, `#duration-30/60/90`, day buttons with
`data-day="YYYY-MM-DD"` (viewer's zone), time buttons with `data-start="<UTC ISO>"`, `#next`,
`#back`, `#pay`, `#note`; for a free consultation `#duration-intro`, `#confirm` and, when the
student already had theirs, `#book-lesson-instead`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from tutor_app.components import slot_picker, style
from tutor_app.components.layout import loading_placeholder, page_layout
from tutor_app.components.resume_banner import resume_banner
from tutor_app.components.steps import indicator_styles, step_indicator
from tutor_app.core import routes
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.state.booking import (
    CONSULTATION_STEP_LABELS,
    NOTE_MAX,
    STEP_LABELS,
    BookingWizardState,
)
from tutor_app.state.typed import Row, cond_value, flag, handler, number, page

S = BookingWizardState


# --- shared pieces ---------------------------------------------------------------------------


def _section(step: int, title: str, *children: rx.Component) -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading(title, as_="h2", size="5"),
            *children,
            spacing="4",
            width="100%",
        ),
        id=f"step-{step}",
        width="100%",
    )


def _nav(
    *, back: bool = True, next_label: str | Var[str] = "Next",
    next_enabled: Var[bool] | None = None,
    show_next: bool = True,
) -> rx.Component:
    back_button = rx.button(
        rx.icon("arrow-left", size=16, aria_hidden="true"),
        "Back",
        on_click=S.prev_step,
        variant="soft",
        color_scheme="gray",
        size="3",
        id="back",
    )
    next_button = rx.button(
        next_label,
        rx.icon("arrow-right", size=16, aria_hidden="true"),
        on_click=S.next_step,
        disabled=~next_enabled if next_enabled is not None else False,
        size="3",
        id="next",
    )
    return rx.hstack(
        back_button if back else rx.box(),
        next_button if show_next else rx.box(),
        justify="between",
        width="100%",
        padding_top="1rem",
        border_top=style.SUBTLE_BORDER,
        margin_top="0.5rem",
    )


def _tutor_summary() -> rx.Component:
    return rx.hstack(
        rx.avatar(src=S.tutor_photo_url, fallback=S.tutor_initials, size="4",
                  radius="full", alt=S.tutor_name),
        rx.vstack(
            rx.text(S.tutor_name, weight="bold", size="3"),
            rx.text(S.rate_label, size="2", color=style.MUTED_TEXT),
            spacing="0",
        ),
        spacing="3",
        align="center",
    )


# The tutor, length and consultation choices: one stylesheet, the chosen one picked out by
# its `aria-pressed`, so choosing flips an attribute instead of computing emotion styles.
_CHOICE_STYLES = """
.wz-choice{border:1px solid var(--gray-5);background:var(--gray-1);border-radius:var(--radius-4);
cursor:pointer;text-align:left;width:100%;padding:.875rem 1rem;margin:0;font:inherit;
color:inherit;transition:border-color .1s ease,background .1s ease}
.wz-choice:hover{border-color:var(--accent-8)}
.wz-choice[aria-pressed=true]{border:2px solid var(--accent-9);background:var(--accent-2)}
.wz-choice:focus-visible{outline:2px solid var(--focus-8);outline-offset:2px}
.wz-choice.wz-length{text-align:center;padding:1.25rem 1rem}
"""


def _choice_styles() -> rx.Component:
    return rx.el.style(custom_attrs={"dangerouslySetInnerHTML": {"__html": _CHOICE_STYLES}})


# --- step 1: tutor -----------------------------------------------------------------------------


def _tutor_option(tutor: Row) -> rx.Component:
    selected = tutor["id"].to(str) == S.tutor_id
    return rx.el.button(
        rx.hstack(
            rx.avatar(src=tutor["photo_url"], fallback=tutor["initials"], size="4",
                      radius="full", alt=tutor["name"]),
            rx.vstack(
                rx.text(tutor["name"], weight="bold", size="3"),
                rx.text(tutor["subjects"].to(list[str]).join(", "), size="2",
                        color=style.MUTED_TEXT),
                rx.text(tutor["rate"], size="2", color=rx.color("accent", 11), weight="medium"),
                spacing="0",
                min_width="0",
            ),
            spacing="3",
            align="center",
        ),
        on_click=handler(S.choose_tutor)(tutor["id"].to(str)),
        type="button",
        custom_attrs={
            "data-tutor": tutor["id"].to(str),
            "aria-pressed": cond_value(selected, "true", "false"),
        },
        class_name="wz-choice",
    )


def _step_tutor() -> rx.Component:
    return _section(
        1,
        "Choose your tutor",
        rx.grid(
            rx.foreach(S.tutors, _tutor_option),
            columns=rx.breakpoints(initial="1", sm="2"),
            gap="0.75rem",
            width="100%",
        ),
        _nav(back=False, next_enabled=flag(S.tutor_id != "")),
    )


# --- step 2: length ----------------------------------------------------------------------------


def _duration_option(option: Row) -> rx.Component:
    minutes = option["minutes"].to(int)
    selected = minutes == S.duration
    return rx.el.button(
        rx.vstack(
            rx.text(option["label"], weight="bold", size="4"),
            rx.text(option["price"], size="3", color=rx.color("accent", 11), weight="medium"),
            spacing="1",
            align="center",
        ),
        on_click=handler(S.choose_duration)(minutes),
        type="button",
        id="duration-" + minutes.to_string(),
        custom_attrs={"aria-pressed": cond_value(selected, "true", "false")},
        class_name="wz-choice wz-length",
    )


def _consultation_option(option: Row) -> rx.Component:
    """The free consultation, a length of its own under the paid ones."""
    return rx.el.button(
        rx.hstack(
            rx.icon("gift", size=18, aria_hidden="true", color=rx.color("accent", 11)),
            rx.text(option["label"], weight="bold", size="3"),
            rx.spacer(),
            rx.text(option["price"], size="3", color=rx.color("accent", 11), weight="medium"),
            align="center",
            width="100%",
        ),
        on_click=S.choose_consultation,
        type="button",
        id="duration-intro",
        custom_attrs={"aria-pressed": cond_value(S.consultation, "true", "false")},
        class_name="wz-choice",
    )


def _step_length() -> rx.Component:
    return _section(
        2,
        "How long should the lesson be?",
        _tutor_summary(),
        rx.grid(
            rx.foreach(S.duration_options, _duration_option),
            columns="3",
            gap="0.75rem",
            width="100%",
        ),
        rx.foreach(S.consultation_options, _consultation_option),
        rx.text("The price is for the whole lesson, paid once at checkout.",
                size="1", color=style.MUTED_TEXT),
        _nav(next_enabled=flag(S.duration > 0)),
    )


# --- step 3: day and time ----------------------------------------------------------------------


def _calendar() -> rx.Component:
    return slot_picker.day_calendar(S.calendar, selected_day=S.day, on_choose=handler(S.choose_day),
                                    calendar_id="calendar")


def _times() -> rx.Component:
    return slot_picker.day_times(S.day_times, day_label=S.day_label, selected_start=S.start,
                                 on_choose=handler(S.choose_start), times_id="times")


def _step_time() -> rx.Component:
    return _section(
        3,
        "Pick a day and a time",
        rx.hstack(
            _tutor_summary(),
            rx.badge(S.duration_label, size="2", variant="soft", radius="full"),
            justify="between",
            width="100%",
            align="center",
        ),
        rx.text(
            rx.icon("globe", size=14, aria_hidden="true", display="inline",
                    vertical_align="-2px", margin_right="0.375rem"),
            "Times are shown in your time zone: ",
            rx.text.strong(S.viewer_zone_label),
            size="2",
            color=style.MUTED_TEXT,
            id="viewer-zone",
        ),
        rx.cond(
            S.slots_loaded & (S.free_day_count == 0),
            rx.callout(
                "No free times in the next 60 days for this length. Try a shorter lesson "
                "or another tutor.",
                icon="calendar-x",
                color_scheme="amber",
                width="100%",
                id="no-free-times",
            ),
            rx.grid(
                _calendar(),
                _times(),
                columns=rx.breakpoints(initial="1", md="2"),
                gap="1.5rem",
                width="100%",
            ),
        ),
        _nav(next_enabled=flag(S.start != "")),
    )


# --- step 4: review ----------------------------------------------------------------------------


def _review_row(label: str, *value: Any, row_id: str = "") -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label, min_width="9rem"),
        rx.data_list.value(*value, id=row_id or None),
    )


def _review_list() -> rx.Component:
    return rx.data_list.root(
        _review_row("Tutor", _tutor_summary()),
        _review_row("Your time", rx.text(S.start_viewer_label, weight="medium"),
                    row_id="review-viewer-time"),
        _review_row("Tutor's time", rx.text(S.start_tutor_label, color=style.MUTED_TEXT),
                    row_id="review-tutor-time"),
        _review_row("Length", S.duration_label, row_id="review-length"),
        _review_row(
            "Price",
            rx.vstack(
                rx.text(S.price_breakdown, size="2", color=style.MUTED_TEXT),
                rx.text("Total ", rx.text.strong(S.price_label), size="3"),
                spacing="0",
            ),
            row_id="review-price",
        ),
        orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
        size="2",
        width="100%",
    )


def _step_review() -> rx.Component:
    return _section(
        4,
        "Review your lesson",
        _review_list(),
        rx.vstack(
            rx.el.label(
                rx.text("Note for your tutor (optional)", size="2", weight="medium"),
                html_for="note",
            ),
            rx.debounce_input(
                rx.text_area(
                    value=S.note,
                    on_change=S.set_note,
                    id="note",
                    max_length=NOTE_MAX,
                    placeholder="What would you like to work on?",
                    rows="3",
                    width="100%",
                ),
                debounce_timeout=300,
            ),
            rx.text(S.note_count, size="1", color=style.MUTED_TEXT, align="right",
                    width="100%"),
            spacing="1",
            width="100%",
        ),
        rx.cond(
            ~S.signed_in,
            rx.text("You'll sign in or create an account before paying; your choices are kept.",
                    size="2", color=style.MUTED_TEXT),
        ),
        _nav(next_label=S.review_next_label),
    )


# --- step 5: payment ---------------------------------------------------------------------------


def _alternative(option: Row) -> rx.Component:
    start = option["start"].to(str)
    return rx.button(
        option["label"],
        on_click=handler(S.pick_alternative)(start),
        variant="outline",
        size="2",
        custom_attrs={"data-start": start},
    )


def _pay_problem() -> rx.Component:
    return rx.cond(
        S.pay_error != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.callout.text(S.pay_error, id="pay-error"),
                rx.cond(
                    S.already_had,
                    rx.button(
                        rx.icon("calendar-plus", size=14, aria_hidden="true"),
                        "Book a lesson",
                        on_click=S.book_lesson_instead,
                        size="2",
                        id="book-lesson-instead",
                    ),
                ),
                rx.cond(
                    S.alternative_options.length() > 0,
                    rx.vstack(
                        rx.text("These times are still free:", size="2"),
                        rx.flex(rx.foreach(S.alternative_options, _alternative), wrap="wrap",
                                gap="0.5rem", id="alternatives"),
                        spacing="2",
                    ),
                ),
                spacing="2",
            ),
            color_scheme="red",
            width="100%",
        ),
    )


def _order_card(*, price_id: str | None = None) -> rx.Component:
    """What is being booked, last thing before paying or confirming: tutor, time, length and
    price."""
    return rx.card(
        rx.vstack(
            _tutor_summary(),
            rx.text(S.start_viewer_label, weight="medium"),
            rx.hstack(
                rx.text(S.duration_label, size="2", color=style.MUTED_TEXT),
                rx.text(S.price_label, size="4", weight="bold", id=price_id),
                justify="between",
                width="100%",
                align="center",
            ),
            spacing="2",
        ),
        width="100%",
    )


def _step_pay() -> rx.Component:
    return _section(
        5,
        "Payment",
        _order_card(),
        _pay_problem(),
        rx.button(
            rx.icon("lock", size=16, aria_hidden="true"),
            "Pay with Stripe",
            on_click=S.pay,
            loading=S.paying,
            disabled=S.paying | (S.pay_error != ""),
            size="4",
            width="100%",
            id="pay",
        ),
        rx.text(
            "You'll pay on Stripe's secure page. The lesson is booked as soon as the payment "
            "goes through; you can cancel before paying and nothing is charged.",
            size="1",
            color=style.MUTED_TEXT,
        ),
        _nav(show_next=False),
    )


def _step_confirm() -> rx.Component:
    """Step 5 of a free consultation: nothing to pay, one click books it."""
    return _section(
        5,
        "Confirm your free consultation",
        _order_card(price_id="confirm-price"),
        _pay_problem(),
        rx.button(
            rx.icon("check", size=16, aria_hidden="true"),
            "Confirm",
            on_click=S.confirm_consultation,
            loading=S.confirming,
            disabled=S.confirming | (S.pay_error != ""),
            size="4",
            width="100%",
            id="confirm",
        ),
        rx.text(
            "A free 15-minute introduction: no payment. It is booked as soon as you confirm, "
            "and you can cancel or move it like a lesson.",
            size="1",
            color=style.MUTED_TEXT,
        ),
        _nav(show_next=False),
    )


# --- the page --------------------------------------------------------------------------------


def _message() -> rx.Component:
    return rx.cond(
        S.message != "",
        rx.callout(S.message, icon="info", color_scheme="amber", width="100%", id="wizard-message"),
    )


def _loading() -> rx.Component:
    return loading_placeholder(
        rx.box(height="1.5rem", width="14rem"),
        rx.box(height="12rem", width="100%"),
        spacing="4",
    )


@page(
    route=routes.BOOK_NOW,
    title=f"Book a lesson · {PRODUCT_NAME}",
    description="Choose a tutor, a lesson length and a time, and pay securely.",
    on_load=S.load,  # also offers an unfinished payment (ResumeCheckoutState)
)
def book_now() -> rx.Component:
    """The wizard: step indicator, a notice when needed, and the current step."""
    return page_layout(
        slot_picker.picker_styles(),
        indicator_styles(),
        _choice_styles(),
        rx.window_event_listener(on_focus=S.refresh_slots,
                                 on_visibility_change=S.on_visibility),
        rx.vstack(
            rx.heading("Book a lesson", as_="h1", size="7"),
            rx.cond(
                S.consultation,
                step_indicator(CONSULTATION_STEP_LABELS, current=number(S.step),
                               reachable=S.max_step, on_select=handler(S.go_to_step)),
                step_indicator(STEP_LABELS, current=number(S.step), reachable=S.max_step,
                               on_select=handler(S.go_to_step)),
            ),
            _message(),
            resume_banner(),  # "You have a payment in progress ... Resume payment"
            rx.card(
                rx.cond(
                    S.loaded,
                    rx.match(
                        S.step,
                        (1, _step_tutor()),
                        (2, _step_length()),
                        (3, _step_time()),
                        (4, _step_review()),
                        (5, rx.cond(S.consultation, _step_confirm(), _step_pay())),
                        rx.fragment(),
                    ),
                    _loading(),
                ),
                size="3",
                width="100%",
            ),
            spacing="5",
            width="100%",
        ),
        max_width=style.NARROW_MAX_WIDTH,
    )
