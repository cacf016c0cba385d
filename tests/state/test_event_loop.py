"""A slow Stripe never freezes the other visitors: handlers keep their waiting off the loop.

Reflex runs a plain handler on the event loop itself, so a handler that waited on Stripe there
would stall every other connection of the worker. Here one student cancels a paid lesson while
the fake Stripe holds its refund answer for two seconds; meanwhile another student's click in
the booking wizard arrives from outside the loop, as a websocket message would, and must be
answered at once.

Both handlers run through Reflex's own `process_event` (what the app's event processor calls
for a foreground event, under an `EventContext`), each on its own state tree, on one loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import Any, cast

import reflex as rx
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event
from reflex_base.utils.format import format_event_handler
from sqlmodel import Session

from tests.factories import paid_booking
from tests.fakes.fake_stripe import FakeStripe
from tests.money_helpers import booking
from tests.state.handlers import run
from tests.state.test_booking_wizard import TUTOR, wizard
from tests.state.test_manage_lesson import _owner, _state
from tests.stripe_helpers import refund_requests
from tutor_app.core.models import BookingStatus
from tutor_app.state.booking import STEP_LENGTH, STEP_TIME
from tutor_app.state.dashboard import DashboardState
from tutor_app.state.manage_lesson import ManageLessonState

STRIPE_ANSWERS_AFTER = 2.0  # seconds the fake Stripe holds its answer to a refund
ROUND_TRIP_LIMIT = 0.5  # a click served while Stripe is still thinking


class Client:
    """One browser tab: its state tree and what Reflex sent it (deltas, with their time)."""

    def __init__(self, token: str, state: rx.State) -> None:
        self.state = state
        self.deltas: list[tuple[float, Mapping[str, Any]]] = []
        self.queued: list[Any] = []
        self.context = EventContext(
            token=token,
            state_manager=cast(Any, None),  # process_event never reaches the manager
            enqueue_impl=self._enqueue,
            emit_delta_impl=self._emit_delta,
            emit_event_impl=self._enqueue,
        )

    async def _enqueue(self, token: str, *events: Any) -> None:
        self.queued.extend(events)

    async def _emit_delta(self, token: str, delta: Mapping[str, Any]) -> None:
        self.deltas.append((time.monotonic(), delta))

    async def send(self, handler_name: str, **payload: Any) -> None:
        """Process one event of this tab the way the event processor does (foreground)."""
        handler = type(self.state).event_handlers[handler_name]
        with self.context:
            await process_event(
                handler=handler, payload=payload, state=self.state,
                root_state=self.state._get_root_state(),
            )


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_slow_refund_does_not_hold_up_another_students_wizard(
    fake: FakeStripe, session: Session
) -> None:
    lesson = paid_booking(session, fake)
    canceler = _state(session, _owner(session, lesson))
    run(canceler.open_cancel(lesson.id))
    assert canceler.cancel_allowed
    booker = wizard()
    run(booker.choose_tutor(TUTOR))
    run(booker.choose_duration(60))
    assert booker.step == STEP_TIME
    fake.answer_slowly("POST", "/v1/refunds", STRIPE_ANSWERS_AFTER)

    cancel_tab = Client("tab-cancel", canceler)
    wizard_tab = Client("tab-wizard", booker)
    clicked: dict[str, float] = {}

    def other_student_clicks_back(loop: asyncio.AbstractEventLoop) -> None:
        """Once the refund is at Stripe, "Back" in the wizard arrives, as from a websocket."""
        _wait_for(lambda: len(refund_requests(fake)) == 1)
        clicked["sent"] = time.monotonic()
        arrived = asyncio.run_coroutine_threadsafe(wizard_tab.send("prev_step"), loop)
        arrived.result(timeout=60)
        clicked["answered"] = time.monotonic()

    async def both() -> float:
        browser = threading.Thread(
            target=other_student_clicks_back, args=(asyncio.get_running_loop(),)
        )
        browser.start()
        started = time.monotonic()
        await cancel_tab.send("confirm_cancel")
        canceled_in = time.monotonic() - started
        await asyncio.to_thread(browser.join, 60)
        return canceled_in

    canceled_in = asyncio.run(both())

    round_trip = clicked["answered"] - clicked["sent"]
    assert booker.step == STEP_LENGTH
    assert wizard_tab.deltas, "the wizard's step change reached its browser"
    assert round_trip < ROUND_TRIP_LIMIT, f"the wizard waited {round_trip:.2f} s"
    # Stripe really held the cancel, and the wizard was served within that time.
    assert canceled_in >= STRIPE_ANSWERS_AFTER
    cancel_delta_times = [at for at, _ in cancel_tab.deltas]
    assert clicked["answered"] < cancel_delta_times[-1]

    # The cancel went through: refunded once, "Canceling…" shown first, the cards re-read.
    assert cancel_tab.deltas[0][1][ManageLessonState.get_full_name()]["canceling_rx_state_"]
    assert not canceler.canceling and not canceler.cancel_open
    assert canceler.notice == "Your lesson is canceled and $60.00 has been refunded."
    after = booking(session, booking_id=lesson.id)
    assert (after.status, after.refunded_cents) == (BookingStatus.CANCELED, 6000)
    assert len(refund_requests(fake)) == 1
    assert [e.name for e in cancel_tab.queued] == [format_event_handler(DashboardState.load)]
