"""The viewer's zone, learned one way by every page state that shows times (`viewer_zone`).

With the `tz` cookie the head script writes, a page's first event formats in that zone and
asks the browser nothing; without a usable one it asks, and the answer reaches the asking
state's own `set_viewer_tz`, which re-formats what it showed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import lesson_start, make_booking, signed_in_user
from tests.state.handlers import run, state_on
from tutor_app.core import timefmt
from tutor_app.core.models import Booking
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.payment import PaymentState
from tutor_app.state.viewer_zone import TZ_COOKIE_SCRIPT, TZ_SCRIPT

TOKYO = "Asia/Tokyo"


def _signed_in_with_a_lesson(db: Session) -> tuple[str, Booking]:
    user, cookie = signed_in_user(db, email="zone@example.com", name="Zoe Zone")
    booking = make_booking(db, user=user, start=lesson_start(days=3), session_id="cs_test_zone")
    return cookie, booking


def _args(spec: Any) -> dict[str, Any]:
    return {name._js_expr: value for name, value in spec.args}


def _asks(events: Any) -> list[Any]:
    """The `call_script(TZ_SCRIPT)` events among what a handler returned."""
    items = events if isinstance(events, list) else [events]
    return [e for e in items if e is not None and e.handler.fn.__qualname__ == "_call_script"
            and TZ_SCRIPT in str(_args(e)["javascript_code"])]


def test_states_that_show_times_take_the_zone_from_the_cookie(
    database: sa.Engine, session: Session
) -> None:
    session_cookie, booking = _signed_in_with_a_lesson(session)
    cookie = f"{session_cookie}; tz=Asia%2FTokyo"
    expected = timefmt.format_range(booking.start_time, booking.end_time, TOKYO)

    dashboard = state_on(DashboardState, "/dashboard", cookie=cookie)
    assert _asks(run(dashboard.load())) == []
    assert dashboard.viewer_tz == TOKYO and dashboard.upcoming[0]["when"] == expected

    payment = state_on(PaymentState, "/payment/success?session_id=cs_test_zone", cookie=cookie)
    assert _asks(run(payment.load_success())) == []
    assert payment.viewer_tz == TOKYO and payment.when == expected


def test_without_a_usable_cookie_the_state_asks_and_its_own_setter_reformats(
    database: sa.Engine, session: Session
) -> None:
    session_cookie, booking = _signed_in_with_a_lesson(session)

    dashboard = state_on(DashboardState, "/dashboard", cookie=f"{session_cookie}; tz=Not%2FAZone")
    (ask,) = _asks(run(dashboard.load()))
    assert dashboard.viewer_tz == "UTC"
    callback = str(_args(ask)["callback"])  # this state's own setter, not a parent's
    assert f"{DashboardState.get_full_name()}.set_viewer_tz" in callback
    dashboard.set_viewer_tz(TOKYO)
    assert dashboard.upcoming[0]["when"] == timefmt.format_range(
        booking.start_time, booking.end_time, TOKYO
    )


def test_every_page_writes_the_zone_cookie_in_its_head() -> None:
    from tutor_app.tutor_app import app

    assert any(TZ_COOKIE_SCRIPT in str(c) for c in app.head_components)
