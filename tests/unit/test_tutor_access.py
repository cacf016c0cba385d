"""Whose tutor portal a user may see, and which bookings a tutor reaches: their own profile's,
an admin any; everyone else the same "not found" as an unknown id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_tutor_user, make_user
from tutor_app.booking.access import NotFound, tutor_booking
from tutor_app.core import clock
from tutor_app.core.models import Role
from tutor_app.tutors.access import tutor_for_user

TUTOR = "aiko-tanaka"
OTHER = "liam-murphy"


def test_a_tutor_runs_their_own_profile_and_no_other(session: Session) -> None:
    tutor = make_tutor_user(session, tutor_id=TUTOR)

    own = tutor_for_user(session, tutor)
    assert own is not None and own.id == TUTOR
    same = tutor_for_user(session, tutor, tutor_id=TUTOR)
    assert same is not None and same.id == TUTOR
    assert tutor_for_user(session, tutor, tutor_id=OTHER) is None


def test_an_admin_runs_the_profile_they_choose(session: Session) -> None:
    admin = make_user(session, email="admin@example.com", role=Role.ADMIN)

    chosen = tutor_for_user(session, admin, tutor_id=OTHER)
    assert chosen is not None and chosen.id == OTHER
    assert tutor_for_user(session, admin) is None  # an admin has no profile of their own
    assert tutor_for_user(session, admin, tutor_id="no-such-tutor") is None


@pytest.mark.parametrize("kind", ["student", "unlinked tutor", "deleted tutor", "signed out"])
def test_anyone_else_runs_nothing(session: Session, kind: str) -> None:
    user = {
        "student": lambda: make_user(session, tutor_id=None),
        "unlinked tutor": lambda: make_user(session, role=Role.TUTOR),
        "deleted tutor": lambda: make_tutor_user(session, tutor_id=TUTOR,
                                                 deleted_at=clock.now()),
        "signed out": lambda: None,
    }[kind]()

    assert tutor_for_user(session, user) is None
    assert tutor_for_user(session, user, tutor_id=TUTOR) is None


def test_a_tutor_reaches_only_their_profiles_bookings(session: Session) -> None:
    tutor = make_tutor_user(session, tutor_id=TUTOR)
    student = make_user(session)
    admin = make_user(session, email="admin@example.com", role=Role.ADMIN)
    start = clock.now() + timedelta(days=2)
    mine = make_booking(session, start=start, user=student, tutor_id=TUTOR)
    theirs = make_booking(session, start=start, user=student, tutor_id=OTHER)

    assert tutor_booking(session, booking_id=mine.id, user=tutor).id == mine.id
    assert tutor_booking(session, booking_id=theirs.id, user=admin).id == theirs.id
    for booking_id, user in ((theirs.id, tutor), ("cnosuchbooking", tutor),
                             (mine.id, student), (mine.id, None), ("", tutor)):
        with pytest.raises(NotFound):
            tutor_booking(session, booking_id=booking_id, user=user)
