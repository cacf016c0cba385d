"""The tutor's own emails, received by a real SMTP server: a new booking, a cancel (by either
side), a reschedule; each with the tutor's calendar file, times in the tutor's zone, at most
once, retried, and sent late when a follow-up never ran. And the student's notice of a
tutor's cancel, with the tutor's reason, once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import Session, select

from tests.factories import make_booking, make_tutor_user, make_user
from tests.fakes.smtp_server import ReceivedMail, SmtpServer
from tests.money_helpers import run_concurrently
from tutor_app.booking import lesson_events, transitions
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, Notification, User
from tutor_app.core.settings import Settings
from tutor_app.core.timefmt import format_range
from tutor_app.mail import notifications, tutor_mail

APP = "https://tutors.example.com"
TUTOR_ID = "maria-garcia"  # Europe/Madrid
TUTOR_ZONE = "Europe/Madrid"
TUTOR_EMAIL = "maria@example.com"
ConfigureFn = Callable[..., Settings]


@pytest.fixture(scope="module")
def _smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp(_smtp: SmtpServer, configure: ConfigureFn, tmp_path: Path) -> SmtpServer:
    """The SMTP server, empty and accepting, with the app's SMTP_URL pointed at it."""
    _smtp.clear()
    configure(SMTP_URL=_smtp.url, APP_URL=APP, APP_ENV="dev",
              OUTBOX_DIR=str(tmp_path / "outbox"), MAIL_FROM="Tutorly <hello@example.com>")
    return _smtp


@pytest.fixture
def tutor(session: Session) -> User:
    return make_tutor_user(session, tutor_id=TUTOR_ID, email=TUTOR_EMAIL, name="María")


def _student(session: Session, email: str = "ann@example.com") -> User:
    return make_user(session, email=email, name="Ann Lee", timezone="America/New_York")


def _booking(session: Session, user: User | None, *, days: int = 10,
             created: datetime | None = None, **fields: Any) -> Booking:
    start = (clock.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return make_booking(session, user=user, start=start, tutor_id=TUTOR_ID,
                        created_at=created or clock.now(), **fields)


def _to(smtp: SmtpServer, address: str) -> list[ReceivedMail]:
    return [m for m in smtp.messages if address in m.rcpt_tos]


def _text(mail: ReceivedMail) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _invite(message: EmailMessage) -> tuple[EmailMessage, Calendar]:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert isinstance(part, EmailMessage)
    return part, Calendar.from_ical(part.get_content())


def _rows(session: Session, booking_id: str) -> list[Notification]:
    session.rollback()
    session.expire_all()
    return list(session.exec(select(Notification).where(Notification.booking_id == booking_id)))


def _cancel(session: Session, booking: Booking, *, reason: str, note: str = "") -> None:
    transitions.cancel(booking, reason=reason, note=note, now=clock.now())
    booking.refunded_cents = booking.price_cents
    session.add(booking)
    session.commit()


def test_a_new_booking_mails_the_tutor_their_own_invitation_in_their_zone(
    smtp: SmtpServer, session: Session, tutor: User
) -> None:
    booking = _booking(session, _student(session), note="Subjunctive, please")

    lesson_events.after_booking_created(booking.id, wait=True)

    [to_tutor] = _to(smtp, TUTOR_EMAIL)
    [to_student] = _to(smtp, "ann@example.com")
    when = format_range(booking.start_time, booking.end_time, TUTOR_ZONE)
    assert "(Europe/Madrid)" in when
    assert to_tutor["Subject"].startswith("New lesson: Ann Lee, ")
    assert "(Europe/Madrid)" in to_tutor["Subject"]
    text = _text(to_tutor)
    for expected in ("Hi María,", "Ann Lee <ann@example.com>", when, "1 hour", "$45.00",
                     "Subjunctive, please", f"{APP}/tutor"):
        assert expected in text
    assert format_range(booking.start_time, booking.end_time, "America/New_York") not in text

    part, calendar = _invite(to_tutor.message)
    [event] = calendar.walk("VEVENT")
    _, student_calendar = _invite(to_student.message)
    [student_event] = student_calendar.walk("VEVENT")
    assert part.get_param("method") == "REQUEST" and calendar["METHOD"] == "REQUEST"
    assert part.get_filename() == f"lesson-{booking.id}-tutor.ics"
    assert str(event["UID"]) == f"booking-{booking.id}-tutor@tutors.example.com"
    assert event["UID"] != student_event["UID"]
    assert str(event["ATTENDEE"]) == f"mailto:{TUTOR_EMAIL}"
    assert str(event["SUMMARY"]) == "Lesson: Ann Lee"
    assert event["DTSTART"].dt == booking.start_time and event["SEQUENCE"] == 0

    # At most once, however often the follow-up runs, even at the same moment.
    results = run_concurrently(5, lambda _: notifications.tutor_booking_created(booking.id))
    assert results == [False] * 5
    assert len(_to(smtp, TUTOR_EMAIL)) == 1


def test_at_most_once_when_asked_at_the_same_moment(
    smtp: SmtpServer, session: Session, tutor: User
) -> None:
    booking = _booking(session, _student(session))

    results = run_concurrently(6, lambda _: notifications.tutor_booking_created(booking.id))

    assert sorted(results) == [False] * 5 + [True]
    assert len(_to(smtp, TUTOR_EMAIL)) == 1


def test_a_tutor_without_an_account_gets_nothing_and_nothing_is_queued(
    smtp: SmtpServer, session: Session
) -> None:
    booking = _booking(session, _student(session))

    lesson_events.after_booking_created(booking.id, wait=True)

    assert [m.rcpt_tos for m in smtp.messages] == [("ann@example.com",)]
    assert [r.kind for r in _rows(session, booking.id)] == [notifications.CONFIRMATION]
    assert notifications.run_retries(now=clock.now() + timedelta(minutes=5)) == 0


def test_a_students_cancel_and_a_reschedule_reach_the_tutor(
    smtp: SmtpServer, session: Session, tutor: User
) -> None:
    booking = _booking(session, _student(session))
    notifications.tutor_booking_created(booking.id)
    _, first = _invite(smtp.wait_for(1)[0].message)

    transitions.move(booking, start=booking.start_time + timedelta(days=1), now=clock.now())
    session.add(booking)
    session.commit()
    assert notifications.tutor_booking_rescheduled(booking.id) is True
    assert notifications.tutor_booking_rescheduled(booking.id) is False
    moved = _to(smtp, TUTOR_EMAIL)[1]
    assert moved["Subject"].startswith("Lesson moved: Ann Lee, now ")
    assert format_range(booking.start_time, booking.end_time, TUTOR_ZONE) in _text(moved)

    _cancel(session, booking, reason=transitions.STUDENT_CANCELED_REASON)
    assert notifications.tutor_booking_canceled(booking.id) is True
    assert notifications.tutor_booking_canceled(booking.id) is False

    mails = _to(smtp, TUTOR_EMAIL)
    assert len(mails) == 3
    canceled = mails[2]
    assert canceled["Subject"].startswith("Lesson canceled: Ann Lee")
    assert "Ann Lee canceled their lesson with you." in _text(canceled)
    part, calendar = _invite(canceled.message)
    [old] = first.walk("VEVENT")
    [event] = calendar.walk("VEVENT")
    assert part.get_param("method") == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert event["UID"] == old["UID"] and event["SEQUENCE"] > old["SEQUENCE"]
    assert event["STATUS"] == "CANCELLED"


def test_a_tutors_cancel_tells_the_student_the_reason_once_and_the_tutor_too(
    smtp: SmtpServer, session: Session, tutor: User
) -> None:
    booking = _booking(session, _student(session))
    _cancel(session, booking, reason=transitions.TUTOR_CANCELED_REASON, note="I have the flu")

    lesson_events.after_booking_canceled(booking.id, wait=True)
    assert notifications.booking_canceled(booking.id) is False  # once per booking
    assert notifications.tutor_booking_canceled(booking.id) is False

    [to_student] = _to(smtp, "ann@example.com")
    [to_tutor] = _to(smtp, TUTOR_EMAIL)
    assert to_student["Subject"].startswith("Your tutor canceled your lesson: María García")
    text = _text(to_student)
    assert "refunded in full: $45.00" in text
    assert "Your tutor's reason: I have the flu" in text
    assert f"{APP}/book-now?tutor={TUTOR_ID}" in text
    assert _invite(to_student.message)[0].get_param("method") == "CANCEL"
    tutor_text = _text(to_tutor)
    assert "You canceled your lesson with Ann Lee" in tutor_text
    assert "Your reason: I have the flu" in tutor_text
    kinds = {r.dedupe_key: r.kind for r in _rows(session, booking.id)}
    assert kinds == {f"{booking.id}:canceled": notifications.CANCELED_BY_TUTOR,
                     f"{booking.id}:tutor:canceled": tutor_mail.TUTOR_CANCELED}


def test_a_failed_tutor_mail_is_retried_on_the_schedule(
    smtp: SmtpServer, session: Session, tutor: User
) -> None:
    booking = _booking(session, _student(session))
    smtp.fail_with = "451 4.3.0 Try again later"
    created = clock.now()

    assert notifications.tutor_booking_created(booking.id) is False
    [row] = _rows(session, booking.id)
    assert (row.kind, row.attempts, row.sent_at) == (tutor_mail.TUTOR_BOOKED, 1, None)

    smtp.fail_with = None
    assert notifications.retry_failed(now=created + timedelta(minutes=2)) == 1
    assert notifications.retry_failed(now=created + timedelta(hours=2)) == 0
    [mail] = _to(smtp, TUTOR_EMAIL)
    assert mail["Subject"].startswith("New lesson")


def test_the_retry_job_tells_the_tutor_what_a_lost_follow_up_did_not(
    smtp: SmtpServer, session: Session, tutor: User
) -> None:
    now = clock.now()
    missed = _booking(session, _student(session, "missed@example.com"), days=10,
                      created=now - timedelta(minutes=5))
    told = _booking(session, _student(session, "told@example.com"), days=11,
                    created=now - timedelta(days=1))
    notifications.tutor_booking_created(told.id)
    notifications.booking_confirmed(told.id)
    _cancel(session, told, reason=transitions.STUDENT_CANCELED_REASON)
    told.canceled_at = now - timedelta(minutes=10)
    session.add(told)
    session.commit()
    smtp.clear()

    # The student's confirmation and cancel notice, and the tutor's two notices.
    assert notifications.run_retries(now=now) == 4
    assert notifications.run_retries(now=now + timedelta(minutes=1)) == 0

    subjects = sorted(m["Subject"].split(":")[0] for m in _to(smtp, TUTOR_EMAIL))
    assert subjects == ["Lesson canceled", "New lesson"]
    assert notifications.tutor_booking_created(missed.id) is False


def test_the_restated_cancel_codes_are_the_booking_sides() -> None:
    assert tutor_mail.TUTOR_CANCELED_REASON == transitions.TUTOR_CANCELED_REASON
    assert tutor_mail.STUDENT_CANCELED_REASON == transitions.STUDENT_CANCELED_REASON
    assert set(tutor_mail.KINDS) <= set(notifications.KINDS)
    assert max(len(kind) for kind in notifications.KINDS) <= 32  # notifications.kind


def test_a_tutors_cancel_of_a_lesson_they_were_never_told_of_is_not_announced(
    smtp: SmtpServer, session: Session, tutor: User
) -> None:
    """A paid session whose slot was taken is CANCELED at birth: no tutor ever had it."""
    now = clock.now()
    booking = _booking(session, _student(session), status=BookingStatus.CANCELED,
                       created=now - timedelta(minutes=10),
                       cancel_reason=transitions.SLOT_TAKEN_REASON)
    booking.canceled_at = now - timedelta(minutes=10)
    session.add(booking)
    session.commit()

    notifications.run_retries(now=now)

    assert _to(smtp, TUTOR_EMAIL) == []
