"""The follow-ups after a booking change: run once each, in order, and never raise."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_user
from tests.fakes.smtp_server import SmtpServer
from tutor_app.booking import lesson_events
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, Notification
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]


@pytest.fixture
def smtp(configure: ConfigureFn, tmp_path: Path) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        configure(SMTP_URL=server.url, APP_ENV="dev", OUTBOX_DIR=str(tmp_path / "outbox"))
        yield server


@pytest.fixture
def extra_follow_ups() -> Iterator[list[tuple[str, str]]]:
    """Names of follow-ups a test registers; removed afterwards."""
    added: list[tuple[str, str]] = []
    yield added
    for event, name in added:
        lesson_events.unregister_follow_up(event, name)


def _booking(session: Session) -> Booking:
    user = make_user(session, email="ann@example.com", name="Ann")
    start = (clock.now() + timedelta(days=7)).replace(microsecond=0)
    return make_booking(session, user=user, start=start, tutor_id="aiko-tanaka")


def test_created_twice_sends_one_confirmation(smtp: SmtpServer, session: Session) -> None:
    booking = _booking(session)

    lesson_events.after_booking_created(booking.id, wait=True)
    lesson_events.after_booking_created(booking.id, wait=True)  # Stripe delivered the webhook twice

    [mail] = smtp.wait_for(1)
    assert mail["Subject"].startswith("Lesson booked: Aiko Tanaka")
    assert len(smtp.messages) == 1


def test_mail_failure_does_not_raise_and_is_left_for_the_retry_job(
    smtp: SmtpServer, session: Session
) -> None:
    booking = _booking(session)
    smtp.fail_with = "421 4.3.2 Service not available"

    lesson_events.after_booking_created(booking.id, wait=True)

    [row] = session.exec(select(Notification)).all()
    assert row.kind == "confirmation" and row.sent_at is None and row.attempts == 1


def test_a_failing_follow_up_does_not_stop_the_others(
    smtp: SmtpServer, session: Session, extra_follow_ups: list[tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    booking = _booking(session)
    booking.status = BookingStatus.CANCELED
    booking.sequence = 1
    session.add(booking)
    session.commit()
    seen: list[str] = []

    def boom(_booking_id: str) -> None:
        raise RuntimeError("calendar is down")

    extra_follow_ups.append((lesson_events.BOOKING_CANCELED, lesson_events.register_follow_up(
        lesson_events.BOOKING_CANCELED, boom, name="test.boom")))
    extra_follow_ups.append((lesson_events.BOOKING_CANCELED, lesson_events.register_follow_up(
        lesson_events.BOOKING_CANCELED, seen.append, name="test.seen")))

    lesson_events.after_booking_canceled(booking.id, wait=True)

    assert seen == [booking.id]
    [mail] = smtp.wait_for(1)
    assert mail["Subject"].startswith("Lesson canceled")
    assert any("test.boom failed" in r.getMessage() for r in caplog.records)


def test_without_waiting_the_follow_ups_run_in_the_background(
    extra_follow_ups: list[tuple[str, str]],
) -> None:
    release = threading.Event()
    done = threading.Event()

    def slow(_booking_id: str) -> None:
        release.wait(5)
        done.set()

    extra_follow_ups.append((lesson_events.BOOKING_RESCHEDULED, lesson_events.register_follow_up(
        lesson_events.BOOKING_RESCHEDULED, slow, name="test.slow")))

    lesson_events.after_booking_rescheduled("cnosuchbooking", wait=False)
    assert not done.is_set()  # the call returned while the follow-up still waits
    release.set()
    assert done.wait(5)


def test_registering_replaces_by_name_and_checks_the_event(
    extra_follow_ups: list[tuple[str, str]],
) -> None:
    calls: list[str] = []
    for _ in range(2):
        extra_follow_ups.append((lesson_events.BOOKING_CREATED, lesson_events.register_follow_up(
            lesson_events.BOOKING_CREATED, calls.append, name="test.once")))

    names = [name for name, _ in lesson_events.follow_ups(lesson_events.BOOKING_CREATED)]
    assert names.count("test.once") == 1
    assert names[0] == "mail.confirmation"
    with pytest.raises(ValueError):
        lesson_events.register_follow_up("booking_deleted", calls.append)
