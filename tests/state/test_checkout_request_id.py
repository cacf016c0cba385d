"""The wizard's "Pay" starts a request-id chain: its own log line, the checkout's, and the
Checkout Session's metadata share one fresh id, and nothing of it stays on the event loop."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from tests.factories import signed_in_user
from tests.fakes.fake_stripe import FakeStripe
from tests.log_capture import json_log_lines
from tests.state.test_booking_wizard import _redirects, _run, _to_review, wizard
from tutor_app.booking import checkout
from tutor_app.core import request_context


def test_each_pay_click_gets_a_fresh_id_carried_to_stripe(
    database: sa.Engine, session: Session, fake: FakeStripe
) -> None:
    _user, cookie = signed_in_user(session, email="clicker@example.com")
    ids = []
    for index in range(2):  # two checkouts, two clicks: two ids
        state = wizard(cookie=cookie)
        _to_review(state, index=index * 4)
        _run(state.next_step())
        with json_log_lines() as lines:
            [url] = _redirects(_run(state.pay()))
        [session_id] = [sid for sid, s in fake.sessions.items() if s["url"] == url]
        request_id = fake.sessions[session_id]["metadata"][checkout.REQUEST_ID_KEY]
        [clicked] = lines.matching("tutor_app.state.booking", "wizard: checkout")
        [held] = lines.matching("tutor_app.booking.checkout", "checkout: hold")
        assert clicked["request_id"] == held["request_id"] == request_id
        assert request_context.current_request_id() is None
        ids.append(request_id)
    assert len(set(ids)) == 2
