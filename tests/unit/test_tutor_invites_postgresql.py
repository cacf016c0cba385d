"""Two acceptances of one tutor invitation at the same moment, on PostgreSQL, where write
transactions run side by side (SQLite's `BEGIN IMMEDIATE` serialises them anyway).

Both transactions are held after reading the invitation as live, until both have read it or a
second passes: a read-then-write acceptance would let both through, and make two profiles.
With the conditional UPDATE, the second waits for the first to commit, matches nothing and is
told the invitation was used.

PostgreSQL runs only (tests/conftest.py's POSTGRESQL_ONLY).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import make_user
from tests.money_helpers import run_concurrently
from tutor_app.core.models import Tutor, TutorInvite, User
from tutor_app.tutors import invites
from tutor_app.tutors.invites import INVITE_DEAD, InviteError, OutgoingInvite


def test_two_acceptances_at_once_get_one_success(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox: list[OutgoingInvite] = []
    real_mailer = invites.mailer()
    invites.register_mailer(outbox.append)
    try:
        ann = make_user(session, email="ann@example.com", name="Ann Lee")
        token = invites.invite_tutor(session, email=ann.email, tutor_id=None)
        session.commit()
    finally:
        assert real_mailer is not None
        invites.register_mailer(real_mailer)
    profiles_before = len(session.exec(select(Tutor)).all())
    session.commit()
    both_read = threading.Barrier(2)
    real_live = invites._live_invite

    def live_when_both_read(*args: Any, **kwargs: Any) -> TutorInvite | None:
        found = real_live(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=1)
        return found

    monkeypatch.setattr(invites, "_live_invite", live_when_both_read)

    outcomes = run_concurrently(2, lambda _i: invites.accept_signed_in(
        user_id=ann.id, token=token, zone="Europe/Dublin"))

    assert sorted(type(o).__name__ for o in outcomes) == ["InviteError", "Tutor"]
    refused = next(o for o in outcomes if isinstance(o, InviteError))
    assert refused.message == INVITE_DEAD
    session.expire_all()
    assert len(session.exec(select(Tutor)).all()) == profiles_before + 1
    user = session.get(User, ann.id)
    assert user is not None and user.tutor_id == "ann-lee"
