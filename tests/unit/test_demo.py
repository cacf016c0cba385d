"""Demo data (`python -m tutor_app.cli demo`, `make demo`): what it loads into an empty
database, made by the product's own rules, and when it refuses (real users, not local dev)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from sqlmodel import Session, select

from tests.factories import make_user
from tutor_app import cli, demo
from tutor_app.accounts import passwords
from tutor_app.booking import refunds, transitions
from tutor_app.catalog import pricing
from tutor_app.core import clock
from tutor_app.core.ids import DEV_CHECKOUT_SESSION_PREFIX
from tutor_app.core.models import Booking, BookingStatus, Refund, Role, Tutor, User
from tutor_app.core.settings import Settings
from tutor_app.mail import notifications
from tutor_app.scheduling import availability

ConfigureFn = Callable[..., Settings]
PROD = {"APP_ENV": "prod", "SECRET_KEY": "p" * 40, "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_live", "APP_URL": "https://tutorly.example"}


def _rows(session: Session) -> tuple[list[User], list[Booking], list[Refund]]:
    session.expire_all()
    found = (list(session.exec(select(User)).all()), list(session.exec(select(Booking)).all()),
             list(session.exec(select(Refund)).all()))
    session.commit()
    return found


def _user(users: list[User], email: str) -> User:
    return next(u for u in users if u.email == email)


def test_demo_loads_accounts_that_sign_in_with_the_printed_password(session: Session) -> None:
    result = demo.load_demo()

    assert result.loaded
    users, _bookings, _refunds = _rows(session)
    assert all(demo.is_demo_email(u.email) for u in users)
    assert len(users) >= 5
    student = _user(users, demo.STUDENT_EMAIL)
    tutor_account = _user(users, demo.TUTOR_EMAIL)
    admin = _user(users, demo.ADMIN_EMAIL)
    assert student.role == Role.STUDENT
    assert admin.role == Role.ADMIN
    assert tutor_account.role == Role.TUTOR
    assert session.get(Tutor, tutor_account.tutor_id) is not None
    for user in users:
        assert user.email_verified and user.timezone
        assert user.password_hash and passwords.verify_password(user.password_hash,
                                                                demo.DEMO_PASSWORD)
    assert [s.email for s in result.sign_ins] == [demo.STUDENT_EMAIL, demo.TUTOR_EMAIL,
                                                   demo.ADMIN_EMAIL]
    assert all(s.password == demo.DEMO_PASSWORD for s in result.sign_ins)


def test_the_demo_student_has_every_kind_of_lesson(session: Session) -> None:
    now = clock.now()
    demo.load_demo()

    users, bookings, refund_rows = _rows(session)
    student = _user(users, demo.STUDENT_EMAIL)
    tutor_account = _user(users, demo.TUTOR_EMAIL)
    mine = [b for b in bookings if b.user_id == student.id]
    upcoming = [b for b in mine if b.status == BookingStatus.SCHEDULED]
    past = [b for b in mine if b.status == BookingStatus.COMPLETED]
    canceled = [b for b in mine if b.status == BookingStatus.CANCELED]
    assert upcoming and all(b.start_time > now for b in upcoming)
    assert past and all(b.end_time <= now for b in past)
    assert all(b.attendance == transitions.ATTENDED for b in past)
    refunded = [b for b in canceled if b.refunded_cents == b.price_cents]
    assert {b.cancel_reason for b in refunded} == {transitions.STUDENT_CANCELED_REASON,
                                                   transitions.TUTOR_CANCELED_REASON}
    assert [b for b in canceled if b.refunded_cents == 0], "a late cancel, nothing refunded"
    by_tutor = next(b for b in canceled if b.cancel_reason == transitions.TUTOR_CANCELED_REASON)
    assert by_tutor.tutor_id == tutor_account.tutor_id and by_tutor.cancel_note
    for booking in refunded:
        [refund] = [r for r in refund_rows if r.booking_id == booking.id]
        assert refund.stripe_refund_id == f"{refunds.DEV_REFUND_PREFIX}{booking.id}"
        assert refund.amount_cents == booking.price_cents
    assert any(b.tutor_id == tutor_account.tutor_id for b in upcoming + past)


def test_every_lesson_is_one_the_product_could_have_sold(session: Session) -> None:
    now = clock.now()
    demo.load_demo()

    _users, bookings, refund_rows = _rows(session)
    tutors = {t.id: t for t in session.exec(select(Tutor)).all()}
    assert len({b.tutor_id for b in bookings}) == len(tutors)  # the whole catalog is busy
    assert any(b.start_time < now - timedelta(weeks=2) for b in bookings)
    assert any(b.start_time > now + timedelta(weeks=2) for b in bookings)
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for booking in bookings:
        tutor = tutors[booking.tutor_id]
        minutes = int((booking.end_time - booking.start_time).total_seconds() // 60)
        assert booking.stripe_checkout_session_id.startswith(DEV_CHECKOUT_SESSION_PREFIX)
        assert booking.price_cents == pricing.quote(
            tutor_id=tutor.id, hourly_rate_cents=tutor.hourly_rate_cents,
            currency=tutor.currency, duration_minutes=minutes).total_cents
        assert availability.is_slot_free(
            start=booking.start_time, weekly_hours=tutor.weekly_hours,
            tutor_tz=tutor.timezone, duration=timedelta(minutes=minutes), busy=(),
            now=booking.start_time, notice=timedelta(0),
        ), f"{booking.start_time} is outside {tutor.id}'s hours"
        assert not booking.start_time < now < booking.end_time  # none under way
        if booking.end_time <= now:
            assert booking.status != BookingStatus.SCHEDULED  # completed, as the job would
        assert booking.created_at < booking.start_time
        spans[booking.tutor_id].append((booking.start_time, booking.end_time))
        spans[booking.user_id or ""].append((booking.start_time, booking.end_time))
    for taken in spans.values():
        taken.sort()
        assert all(end <= start for (_, end), (start, _) in pairwise(taken))
    assert all(r.amount_cents > 0 for r in refund_rows)


def test_loading_the_demo_sends_no_mail_on_its_own(session: Session) -> None:
    demo.load_demo()
    # The sweep for missed confirmations and cancel notices finds nothing to catch up on.
    assert notifications.send_missed(clock.now()) == 0


def test_loading_again_changes_nothing(session: Session) -> None:
    demo.load_demo()
    before = [len(rows) for rows in _rows(session)]

    again = demo.load_demo()

    assert not again.loaded
    assert again.sign_ins[0].email == demo.STUDENT_EMAIL
    assert [len(rows) for rows in _rows(session)] == before


def test_a_database_with_a_real_user_is_left_alone(session: Session) -> None:
    make_user(session, email="ann@example.com")

    with pytest.raises(demo.DemoRefused, match="1 user"):
        demo.load_demo()

    users, bookings, _refunds = _rows(session)
    assert [u.email for u in users] == ["ann@example.com"]
    assert bookings == []


def test_a_real_user_next_to_the_demo_stops_a_second_load(session: Session) -> None:
    demo.load_demo()
    make_user(session, email="signed.up@example.com")

    with pytest.raises(demo.DemoRefused):
        demo.load_demo()


@pytest.mark.parametrize("env", [
    PROD,
    {"APP_ENV": "dev", "APP_URL": "https://tutorly.example"},  # reachable by others
])
def test_refused_outside_a_developers_machine(
    session: Session, configure: ConfigureFn, env: dict[str, str]
) -> None:
    configure(**env)

    with pytest.raises(demo.DemoRefused, match="developer's own machine"):
        demo.load_demo()

    assert _rows(session)[0] == []


def test_the_command_prints_the_sign_ins(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo"]) == 0
    printed = capsys.readouterr().out
    assert "demo data loaded" in printed
    for email in (demo.STUDENT_EMAIL, demo.TUTOR_EMAIL, demo.ADMIN_EMAIL):
        assert f"{email}" in printed
    assert f"password {demo.DEMO_PASSWORD}" in printed

    assert cli.main(["demo"]) == 0
    assert "already loaded" in capsys.readouterr().out


def test_the_command_says_why_it_refused(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    make_user(session, email="ann@example.com")

    assert cli.main(["demo"]) == 2

    captured = capsys.readouterr()
    assert "demo data not loaded" in captured.err
    assert demo.DEMO_PASSWORD not in captured.out
