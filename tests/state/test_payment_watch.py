"""The success page's watch: one per page state, however often its start event is sent.

The background event runs as Reflex runs one: through `process_event` on a `StateProxy`, whose
`async with self` takes the page state's lock from a real (in-memory) state manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.istate.proxy import StateProxy
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event
from sqlmodel import Session

from tests.factories import lesson_start, make_booking, signed_in_user
from tests.state.handlers import run, state_on
from tutor_app.core.models import User
from tutor_app.state import payment
from tutor_app.state.payment import CONFIRMED, PROCESSING, PaymentState

SESSION_ID = "cs_test_watch"


class Tab:
    """One browser tab on the success page: its state tree, held by a state manager."""

    def __init__(self, state: PaymentState) -> None:
        self.state = state
        self.manager = StateManagerMemory()
        root = state._get_root_state()
        token = BaseStateToken(ident="tab-success", cls=type(root))
        self.manager.states[token.cache_key] = root
        self.deltas: list[Mapping[str, Any]] = []
        self.context = EventContext(
            token="tab-success",
            state_manager=self.manager,
            enqueue_impl=self._ignore,
            emit_delta_impl=self._emit_delta,
            emit_event_impl=self._ignore,
        )

    async def _ignore(self, token: str, *events: Any) -> None:
        return None

    async def _emit_delta(self, token: str, delta: Mapping[str, Any]) -> None:
        self.deltas.append(delta)

    def start(self, handler_name: str) -> asyncio.Task[None]:
        """Send a background event: its task runs on a proxy of the page state."""
        handler = PaymentState.event_handlers[handler_name]
        with self.context:
            proxy = StateProxy(self.state)
            return asyncio.ensure_future(
                process_event(handler=handler, payload={}, state=proxy, root_state=None)
            )


def _success_page(session: Session) -> tuple[PaymentState, User]:
    me, cookie = signed_in_user(session, email="me@example.com")
    state = state_on(PaymentState, f"/payment/success?session_id={SESSION_ID}", cookie=cookie)
    run(state.require_login())
    events = run(state.load_success())
    assert state.status == PROCESSING and PaymentState.watch_booking in events
    return state, me


def test_the_start_event_sent_five_times_runs_one_watch(
    database: sa.Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, me = _success_page(session)
    watches: list[str] = []
    checks: list[str] = []
    real_wait, real_lookup = payment.wait_for_lesson, payment._lookup

    async def counted_wait(**kwargs: Any) -> Any:
        watches.append(kwargs["session_id"])
        return await real_wait(**kwargs, check_every=0.05)

    def counted_lookup(session_id: str, user_id: str) -> Any:
        checks.append(session_id)
        return real_lookup(session_id, user_id)

    monkeypatch.setattr(payment, "wait_for_lesson", counted_wait)
    monkeypatch.setattr(payment, "_lookup", counted_lookup)

    async def scenario() -> None:
        tab = Tab(state)
        tasks = [tab.start("watch_booking") for _ in range(5)]
        await asyncio.sleep(0.6)
        assert watches == [SESSION_ID]
        assert 3 <= len(checks) <= 20  # one watch re-checking every 0.05 s, not five
        assert state.status == PROCESSING

        make_booking(session, user=me, start=lesson_start(days=4), tutor_id="james-okafor",
                     price_cents=6000, session_id=SESSION_ID)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        assert state.status == CONFIRMED and state.tutor_name == "James Okafor"
        assert state._watching is False
        assert any("confirmed" in str(delta) for delta in tab.deltas)

        # The watch is over, so the next start event may start one again.
        again = tab.start("watch_booking")
        await asyncio.wait_for(again, timeout=10)
        assert watches == [SESSION_ID, SESSION_ID] and state._watching is False

    asyncio.run(scenario())


def test_a_refresh_while_watching_keeps_one_watch_that_still_confirms(
    database: sa.Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, me = _success_page(session)
    watches: list[str] = []
    real_wait = payment.wait_for_lesson

    async def counted_wait(**kwargs: Any) -> Any:
        watches.append(kwargs["session_id"])
        return await real_wait(**kwargs, check_every=0.05)

    monkeypatch.setattr(payment, "wait_for_lesson", counted_wait)

    async def scenario() -> None:
        tab = Tab(state)
        first = tab.start("watch_booking")
        await asyncio.sleep(0.2)
        events = await state.load_success()  # the student reloads the page
        assert events is not None and PaymentState.watch_booking in events
        second = tab.start("watch_booking")
        await asyncio.wait_for(second, timeout=5)  # found the running watch: returned at once
        await asyncio.sleep(0.3)
        assert watches == [SESSION_ID, SESSION_ID]  # the running watch took the new visit over
        assert state._watching is True

        make_booking(session, user=me, start=lesson_start(days=4), tutor_id="james-okafor",
                     price_cents=6000, session_id=SESSION_ID)
        await asyncio.wait_for(first, timeout=10)
        assert state.status == CONFIRMED and state._watching is False

    asyncio.run(scenario())
