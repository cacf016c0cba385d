"""The three-unpaid-checkouts cap under concurrency on PostgreSQL, where write transactions run
side by side (SQLite's `BEGIN IMMEDIATE` serialises them anyway).

A student with two live holds starts two checkouts at the same moment, for two slots that do
not overlap (so no exclusion constraint is involved). Both transactions are held at the
slot check, after counting, until both arrive or a second passes: without the lock on the
student's row both would count two, and both insert. With it, the second waits for the first
to commit, counts three and is refused.

PostgreSQL runs only (tests/conftest.py's POSTGRESQL_ONLY).
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import TUTOR, make_hold, make_user
from tests.money_helpers import run_concurrently
from tutor_app.booking import checkout
from tutor_app.core.models import HoldStatus, SlotHold
from tutor_app.scheduling import slots


def _apart(session: Session, count: int) -> list[Any]:
    starts = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60)
    session.commit()
    chosen = [starts[0]]
    for start in starts:
        if len(chosen) == count:
            break
        if start >= chosen[-1] + timedelta(days=1):
            chosen.append(start)
    return chosen


def test_two_checkouts_at_once_cannot_make_a_fourth_hold(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(session)
    starts = _apart(session, 4)
    for start in starts[:2]:
        make_hold(session, user=user, start=start)
    both_counted = threading.Barrier(2)
    real_check = slots.check_slot

    def check_when_both_counted(*args: Any, **kwargs: Any) -> None:
        # Broken after a second: the other transaction waits for the student's row; go on.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_counted.wait(timeout=1)
        real_check(*args, **kwargs)

    monkeypatch.setattr(slots, "check_slot", check_when_both_counted)

    outcomes = run_concurrently(2, lambda i: checkout.start_checkout(
        user=user, tutor_id=TUTOR, start=starts[2 + i], duration_minutes=60))

    assert sorted(type(o).__name__ for o in outcomes) == ["CheckoutStarted", "TooManyHolds"]
    session.commit()
    live = session.exec(select(SlotHold).where(SlotHold.user_id == user.id,
                                               SlotHold.status == HoldStatus.ACTIVE)).all()
    assert len(live) == checkout.MAX_OPEN_HOLDS
