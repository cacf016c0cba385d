"""A student who left checkout half-way finds their slot still theirs and can resume.

Runs in dev-payments mode (no Stripe key): the session is the app's own test checkout, so
this covers the mechanics without the network; the Stripe flavour of `resumed=True` is
covered by the checkout tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import TUTOR, first_free, make_hold, make_user
from tests.stripe_helpers import hold_by_id
from tutor_app.booking import checkout, resume
from tutor_app.core import clock
from tutor_app.core.models import HoldStatus
from tutor_app.core.settings import Settings
from tutor_app.scheduling import holds, slots


@pytest.fixture(autouse=True)
def _dev_payments(configure: Callable[..., Settings], database: object) -> None:
    configure(STRIPE_SECRET_KEY=None, STRIPE_API_BASE=None, STRIPE_WEBHOOK_SECRET=None,
              APP_ENV="dev")


def _free(session: Session, user_id: str | None, now=None) -> list:  # type: ignore[no-untyped-def]
    found = slots.free_slots_for(session, tutor_id=TUTOR, duration_minutes=60,
                                 for_user_id=user_id, now=now)
    session.commit()
    return found


def test_the_students_own_held_slot_stays_theirs_and_resumes(session: Session) -> None:
    me, other = make_user(session), make_user(session)
    start = first_free(session, days_ahead=3)
    first = checkout.start_checkout(user=me, tutor_id=TUTOR, start=start, duration_minutes=60)

    assert start in _free(session, me.id)  # still offered to me ...
    assert start not in _free(session, other.id)  # ... and to nobody else
    offer = resume.open_checkout(session, user_id=me.id)
    assert offer is not None
    assert (offer.session_id, offer.url, offer.start) == (first.session_id, first.url, start)
    assert offer.tutor_name == "James Okafor"
    assert resume.open_checkout(session, user_id=other.id) is None

    again = checkout.start_checkout(user=me, tutor_id=TUTOR, start=start, duration_minutes=60)
    assert again.resumed and (again.session_id, again.url) == (first.session_id, first.url)
    with pytest.raises(slots.SlotTaken):
        checkout.start_checkout(user=other, tutor_id=TUTOR, start=start, duration_minutes=60)


def test_a_lapsed_hold_comes_back_for_everyone(session: Session) -> None:
    me, other = make_user(session), make_user(session)
    start = first_free(session, days_ahead=3)
    checkout.start_checkout(user=me, tutor_id=TUTOR, start=start, duration_minutes=60)
    later = clock.now() + checkout.HOLD_LIFETIME + timedelta(seconds=1)

    assert start in _free(session, other.id, now=later)
    assert resume.open_checkout(session, user_id=me.id, now=later) is None
    taken = checkout.start_checkout(user=other, tutor_id=TUTOR, start=start,
                                    duration_minutes=60, now=later)
    assert not taken.resumed


def test_an_expired_session_releases_its_hold_at_once(session: Session) -> None:
    me, other = make_user(session), make_user(session)
    start = first_free(session, days_ahead=3)
    started = checkout.start_checkout(user=me, tutor_id=TUTOR, start=start, duration_minutes=60)
    assert start not in _free(session, other.id)
    assert holds.release_by_session(session, session_id=started.session_id, now=clock.now())
    session.commit()
    assert start in _free(session, other.id)
    assert resume.open_checkout(session, user_id=me.id) is None


@pytest.mark.parametrize(
    ("status", "minutes_left", "offered"),
    [
        (HoldStatus.ACTIVE, 20, True),
        (HoldStatus.ACTIVE, 3, False),  # about to lapse: not worth resuming
        (HoldStatus.RELEASED, 20, False),
        (HoldStatus.CONVERTED, 20, False),  # paid: it is a booking now
    ],
)
def test_only_a_payable_session_is_offered(
    session: Session, status: str, minutes_left: int, offered: bool
) -> None:
    me = make_user(session)
    hold = make_hold(session, user=me, start=first_free(session, days_ahead=3), status=status,
                     session_id="cs_dev_" + "a" * 32,
                     expires_at=clock.now() + timedelta(minutes=minutes_left))
    assert (resume.open_checkout(session, user_id=me.id) is not None) is offered
    assert hold_by_id(session, hold.id).status == status


def test_the_newest_unfinished_payment_is_offered(session: Session) -> None:
    me = make_user(session)
    make_hold(session, user=me, start=first_free(session, days_ahead=3), session_id="cs_dev_old")
    newer = make_hold(session, user=me, start=first_free(session, days_ahead=5),
                      session_id="cs_dev_new")
    newer.created_at = clock.now() + timedelta(seconds=5)
    session.add(newer)
    session.commit()
    offer = resume.open_checkout(session, user_id=me.id)
    assert offer is not None and offer.session_id == "cs_dev_new"
    assert resume.open_checkout(session, user_id="") is None
