"""Student emails, received by a real SMTP server: content, at-most-once, reminders, retries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import Session, select

from tests.factories import make_booking, make_user
from tests.fakes.smtp_server import ReceivedMail, SmtpServer
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, Notification, User
from tutor_app.core.settings import Settings
from tutor_app.core.timefmt import format_range
from tutor_app.mail import notifications

APP = "https://tutors.example.com"
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


def _user(session: Session, email: str = "ann@example.com", *, name: str = "Ann",
          timezone: str | None = "America/New_York") -> User:
    return make_user(session, email=email, name=name, timezone=timezone)


def _booking(session: Session, user: User | None, *, start: datetime,
             created: datetime | None = None, **fields: Any) -> Booking:
    """A booking of María García's (the mails' tutor), made `created` (default: now)."""
    return make_booking(session, user=user, start=start, tutor_id="maria-garcia",
                        created_at=created or clock.now(), **fields)


def _future(days: int = 10) -> datetime:
    return (clock.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def _text(mail: ReceivedMail | EmailMessage) -> str:
    message = mail.message if isinstance(mail, ReceivedMail) else mail
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _html(mail: ReceivedMail) -> str:
    body = mail.message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def _invite(message: EmailMessage) -> tuple[EmailMessage, Calendar]:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert isinstance(part, EmailMessage)
    return part, Calendar.from_ical(part.get_content())


def _row(session: Session, key: str) -> Notification:
    session.rollback()  # end the test's read transaction: see what the app committed since
    session.expire_all()
    return session.exec(select(Notification).where(Notification.dedupe_key == key)).one()


# ---------------------------------------------------------------- confirmation


def test_confirmation_has_text_html_and_a_parseable_invitation(
    smtp: SmtpServer, session: Session
) -> None:
    user = _user(session)
    booking = _booking(session, user, start=_future())

    assert notifications.booking_confirmed(booking.id) is True

    [mail] = smtp.wait_for(1)
    message = mail.message
    assert mail.rcpt_tos == ("ann@example.com",)
    assert message["To"] == "ann@example.com"
    assert message["From"] == "Tutorly <hello@example.com>"
    assert "María García" in message["Subject"]
    assert message.get_content_type() == "multipart/mixed"
    [alternative] = [p for p in message.iter_parts()
                     if p.get_content_type() == "multipart/alternative"]
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]

    text = _text(mail)
    when = format_range(booking.start_time, booking.end_time, "America/New_York")
    assert "(America/New_York)" in when
    for expected in ("Hi Ann,", "María García", when, "1 hour", "$45.00", f"{APP}/dashboard"):
        assert expected in text
    html_body = _html(mail)
    assert "María García" in html_body and f'href="{APP}/dashboard"' in html_body
    assert "calendar.google.com/calendar/render?action=TEMPLATE" in html_body

    part, calendar = _invite(message)
    assert part.get_param("method") == "REQUEST"
    assert part.get_content_charset() == "utf-8"
    assert part.get_filename() == f"lesson-{booking.id}.ics"
    [event] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == f"booking-{booking.id}@tutors.example.com"
    assert event["DTSTART"].dt == booking.start_time
    assert event["DTSTART"].dt.utcoffset() == timedelta(0)
    assert event["SEQUENCE"] == 0

    row = _row(session, f"{booking.id}:confirmation")
    assert row.sent_at is not None and row.attempts == 0 and row.last_error is None


def test_confirmation_is_sent_once_when_asked_twice(smtp: SmtpServer, session: Session) -> None:
    booking = _booking(session, _user(session), start=_future())

    results = [notifications.booking_confirmed(booking.id) for _ in range(3)]

    assert results == [True, False, False]
    assert len(smtp.messages) == 1  # sending is synchronous: nothing more is on its way


def test_unknown_time_zone_shows_utc_and_says_so(smtp: SmtpServer, session: Session) -> None:
    user = _user(session, timezone=None, name="")
    booking = _booking(session, user, start=_future())

    notifications.booking_confirmed(booking.id)

    text = _text(smtp.wait_for(1)[0])
    assert text.startswith("Hello,")
    assert format_range(booking.start_time, booking.end_time, "UTC") in text
    assert "Times are in UTC" in text


def test_unclaimed_booking_mails_the_checkout_email(smtp: SmtpServer, session: Session) -> None:
    booking = _booking(session, None, start=_future(), customer_email="guest@example.com")

    assert notifications.booking_confirmed(booking.id) is True

    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ("guest@example.com",)


def test_booking_without_any_address_is_skipped_not_retried(
    smtp: SmtpServer, session: Session
) -> None:
    booking = _booking(session, None, start=_future())

    assert notifications.booking_confirmed(booking.id) is False

    row = _row(session, f"{booking.id}:confirmation")
    assert row.sent_at is None and row.attempts == notifications.MAX_ATTEMPTS
    assert notifications.retry_failed(now=clock.now() + timedelta(days=2)) == 0
    assert smtp.messages == []


# ---------------------------------------------------------------- reminders


def test_reminder_only_for_scheduled_lessons_inside_the_window_and_only_once(
    smtp: SmtpServer, session: Session
) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    long_ago = now - timedelta(days=5)
    due = _booking(session, _user(session, "due@example.com"), start=now + timedelta(hours=23),
                   created=long_ago)
    edge = _booking(session, _user(session, "edge@example.com"), start=now + timedelta(hours=24),
                    created=long_ago)
    _booking(session, _user(session, "later@example.com"), start=now + timedelta(hours=25),
             created=long_ago)
    _booking(session, _user(session, "canceled@example.com"), start=now + timedelta(hours=5),
             created=long_ago, status=BookingStatus.CANCELED)
    _booking(session, _user(session, "started@example.com"), start=now - timedelta(minutes=10),
             created=long_ago)
    _booking(session, _user(session, "done@example.com"), start=now + timedelta(hours=2),
             created=long_ago, status=BookingStatus.COMPLETED)
    # Booked 3 hours ago for tomorrow: the confirmation was the reminder.
    _booking(session, _user(session, "late@example.com"), start=now + timedelta(hours=20),
             created=now - timedelta(hours=3))

    assert notifications.send_due_reminders(now=now) == 2
    assert notifications.send_due_reminders(now=now) == 0
    assert notifications.send_due_reminders(now=now + timedelta(minutes=1)) == 0

    mails = smtp.messages
    assert sorted(m.rcpt_tos[0] for m in mails) == ["due@example.com", "edge@example.com"]
    reminder = next(m for m in mails if m.rcpt_tos == ("due@example.com",))
    assert reminder["Subject"].startswith("Reminder: lesson with María García")
    assert "starts in about 23 hours" in _text(reminder)
    session.rollback()
    assert {due.id, edge.id} == {
        r.booking_id for r in session.exec(select(Notification)).all() if r.sent_at
    }


def test_reminder_sent_once_when_two_workers_run_it_at_the_same_time(
    smtp: SmtpServer, session: Session
) -> None:
    now = clock.now()
    bookings = [
        _booking(session, _user(session, f"student{i}@example.com"),
                 start=now + timedelta(hours=2 + i), created=now - timedelta(days=3))
        for i in range(6)
    ]
    barrier = threading.Barrier(4)
    counts: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            counts.append(notifications.send_due_reminders(now=now))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sum(counts) == len(bookings)
    recipients = sorted(m.rcpt_tos[0] for m in smtp.messages)
    assert recipients == sorted(f"student{i}@example.com" for i in range(6))


def test_moved_lesson_is_reminded_again_unless_moved_inside_the_window(
    smtp: SmtpServer, session: Session
) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    booking = _booking(session, _user(session), start=now + timedelta(hours=20),
                       created=now - timedelta(days=4))
    assert notifications.send_due_reminders(now=now) == 1

    # Moved two days later, three days ahead of the new time: reminded again, a day before.
    later = now + timedelta(hours=1)
    booking.start_time += timedelta(days=2)
    booking.end_time += timedelta(days=2)
    booking.sequence += 1
    session.add(booking)
    session.commit()
    assert notifications.send_due_reminders(now=later) == 0
    assert notifications.send_due_reminders(now=booking.start_time - timedelta(hours=23)) == 1

    # Moved again, now to 10 hours ahead: the reschedule email tells them; no extra reminder.
    moment = booking.start_time - timedelta(hours=20)
    booking.start_time = moment + timedelta(hours=10)
    booking.end_time = booking.start_time + timedelta(hours=1)
    booking.sequence += 1
    session.add(booking)
    session.commit()
    assert notifications.send_once(
        booking_id=booking.id, kind=notifications.RESCHEDULED,
        key=notifications.rescheduled_key(booking.id, booking.sequence), now=moment,
    )
    assert notifications.send_due_reminders(now=moment + timedelta(minutes=1)) == 0
    assert [m["Subject"].split(":")[0] for m in smtp.messages] == [
        "Reminder", "Reminder", "Lesson moved",
    ]


# ---------------------------------------------------------------- cancel and reschedule


def test_cancel_notice_carries_a_cancel_invitation_with_a_higher_sequence(
    smtp: SmtpServer, session: Session
) -> None:
    booking = _booking(session, _user(session), start=_future())
    notifications.booking_confirmed(booking.id)
    _, request = _invite(smtp.wait_for(1)[0].message)

    booking.status = BookingStatus.CANCELED
    booking.sequence += 1
    booking.canceled_at = clock.now()
    booking.refunded_cents = 4500
    booking.cancel_reason = "Tutor unavailable"
    session.add(booking)
    session.commit()
    assert notifications.booking_canceled(booking.id) is True
    assert notifications.booking_canceled(booking.id) is False

    mails = smtp.wait_for(2)
    assert len(mails) == 2
    cancel = mails[1]
    assert cancel["Subject"].startswith("Lesson canceled: María García")
    text = _text(cancel)
    assert "has been canceled" in text and "$45.00" in text and "Tutor unavailable" in text
    part, calendar = _invite(cancel.message)
    assert part.get_param("method") == "CANCEL"
    [old] = request.walk("VEVENT")
    [event] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "CANCEL"
    assert event["UID"] == old["UID"]
    assert event["SEQUENCE"] > old["SEQUENCE"]
    assert event["STATUS"] == "CANCELLED"


def test_no_cancel_notice_for_a_booking_that_is_not_canceled(
    smtp: SmtpServer, session: Session
) -> None:
    booking = _booking(session, _user(session), start=_future())

    assert notifications.booking_canceled(booking.id) is False
    assert notifications.booking_canceled("cnosuchbooking") is False
    assert smtp.messages == []


def test_each_reschedule_sends_an_updated_invitation_once(
    smtp: SmtpServer, session: Session
) -> None:
    booking = _booking(session, _user(session), start=_future())
    for _ in range(2):
        booking.start_time += timedelta(days=1)
        booking.end_time += timedelta(days=1)
        booking.sequence += 1
        session.add(booking)
        session.commit()
        assert notifications.booking_rescheduled(booking.id) is True
        assert notifications.booking_rescheduled(booking.id) is False

    mails = smtp.wait_for(2)
    assert len(mails) == 2
    _, calendar = _invite(mails[1].message)
    [event] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "REQUEST"
    assert event["SEQUENCE"] == 2
    assert event["DTSTART"].dt == booking.start_time
    assert mails[1]["Subject"].startswith("Lesson moved: María García")


# ---------------------------------------------------------------- failures and retries


def test_smtp_failure_is_recorded_and_retried_later(smtp: SmtpServer, session: Session) -> None:
    booking = _booking(session, _user(session), start=_future())
    smtp.fail_with = "451 4.3.0 Try again later"
    created = clock.now()

    assert notifications.booking_confirmed(booking.id) is False
    row = _row(session, f"{booking.id}:confirmation")
    assert row.sent_at is None and row.attempts == 1
    assert row.last_error and "MailError" in row.last_error and "451" in row.last_error
    assert smtp.refused == 1
    # Asking again does not send behind the retry schedule's back.
    assert notifications.booking_confirmed(booking.id) is False
    assert smtp.refused == 1

    smtp.fail_with = None
    assert notifications.retry_failed(now=created + timedelta(seconds=20)) == 0  # not yet due
    assert smtp.messages == []
    assert notifications.retry_failed(now=created + timedelta(minutes=2)) == 1
    assert notifications.retry_failed(now=created + timedelta(hours=2)) == 0

    [mail] = smtp.wait_for(1)
    _invite(mail.message)
    row = _row(session, f"{booking.id}:confirmation")
    assert row.sent_at is not None and row.last_error is None and row.attempts == 1


def test_retries_back_off_and_give_up_after_max_attempts(
    smtp: SmtpServer, session: Session
) -> None:
    booking = _booking(session, _user(session), start=_future(days=40))
    smtp.fail_with = "554 5.0.0 Nope"
    created = clock.now()
    notifications.booking_confirmed(booking.id)

    for offset in notifications.RETRY_AFTER:
        # Just before the next retry is due nothing happens; at its time one attempt is made.
        notifications.retry_failed(now=created + offset - timedelta(seconds=30))
        attempts_before = _row(session, f"{booking.id}:confirmation").attempts
        notifications.retry_failed(now=created + offset + timedelta(seconds=1))
        assert _row(session, f"{booking.id}:confirmation").attempts == attempts_before + 1

    row = _row(session, f"{booking.id}:confirmation")
    assert row.attempts == notifications.MAX_ATTEMPTS and row.sent_at is None
    refused = smtp.refused
    smtp.fail_with = None
    assert notifications.retry_failed(now=created + timedelta(days=30)) == 0
    assert smtp.refused == refused and smtp.messages == []


def test_retry_skips_a_reminder_whose_lesson_was_canceled(
    smtp: SmtpServer, session: Session
) -> None:
    now = clock.now()
    booking = _booking(session, _user(session), start=now + timedelta(hours=6),
                       created=now - timedelta(days=2))
    smtp.fail_with = "421 4.3.2 Service not available"
    assert notifications.send_due_reminders(now=now) == 0
    booking.status = BookingStatus.CANCELED
    booking.sequence += 1
    session.add(booking)
    session.commit()
    smtp.fail_with = None

    assert notifications.retry_failed(now=now + timedelta(minutes=5)) == 0

    assert smtp.messages == []
    session.rollback()
    [row] = session.exec(select(Notification)).all()
    assert row.last_error is not None and row.last_error.startswith("skipped:")


def test_a_claim_abandoned_mid_send_is_retried_but_one_in_flight_is_not(
    smtp: SmtpServer, session: Session
) -> None:
    now = clock.now()
    crashed = _booking(session, _user(session, "crashed@example.com"), start=_future())
    in_flight = _booking(session, _user(session, "busy@example.com"), start=_future(11))
    session.add(Notification(dedupe_key=f"{crashed.id}:confirmation", booking_id=crashed.id,
                             kind="confirmation", created_at=now - timedelta(minutes=11)))
    session.add(Notification(dedupe_key=f"{in_flight.id}:confirmation", booking_id=in_flight.id,
                             kind="confirmation", created_at=now - timedelta(minutes=2)))
    session.commit()

    assert notifications.retry_failed(now=now) == 1

    assert [m.rcpt_tos for m in smtp.messages] == [("crashed@example.com",)]


def test_two_retriers_at_once_send_a_failed_email_once(
    smtp: SmtpServer, session: Session
) -> None:
    bookings = [_booking(session, _user(session, f"s{i}@example.com"), start=_future(10 + i))
                for i in range(4)]
    smtp.fail_with = "451 later"
    created = clock.now()
    for booking in bookings:
        notifications.booking_confirmed(booking.id)
    smtp.fail_with = None
    barrier = threading.Barrier(3)
    counts: list[int] = []

    def worker() -> None:
        barrier.wait()
        counts.append(notifications.retry_failed(now=created + timedelta(minutes=2)))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(counts) == 4
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [f"s{i}@example.com" for i in range(4)]


# ---------------------------------------------------------------- outbox


def test_dev_without_smtp_writes_eml_files_to_the_outbox(
    configure: ConfigureFn, session: Session, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    configure(SMTP_URL=None, APP_ENV="dev", APP_URL=APP, OUTBOX_DIR=str(outbox))
    booking = _booking(session, _user(session), start=_future())

    assert notifications.booking_confirmed(booking.id) is True
    assert notifications.booking_confirmed(booking.id) is False

    [path] = list(outbox.glob("*.eml"))
    assert list(outbox.glob("*.tmp")) == []
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "ann@example.com"
    assert "María García" in message["Subject"]
    assert "$45.00" in _text(message)
    _, calendar = _invite(message)
    assert calendar["METHOD"] == "REQUEST"


# ---------------------------------------------------------------- missed follow-ups


def test_retry_job_sends_confirmations_and_cancel_notices_that_were_never_triggered(
    smtp: SmtpServer, session: Session
) -> None:
    now = clock.now()
    missed = _booking(session, _user(session, "missed@example.com"), start=_future(10),
                      created=now - timedelta(minutes=5))
    _booking(session, _user(session, "fresh@example.com"), start=_future(11),
             created=now - timedelta(seconds=30))  # its follow-up may still be running
    _booking(session, _user(session, "old@example.com"), start=_future(12),
             created=now - timedelta(days=3))  # from before the app sent mail
    canceled = _booking(session, _user(session, "canceled@example.com"), start=_future(13),
                        created=now - timedelta(days=5), status=BookingStatus.CANCELED)
    canceled.canceled_at = now - timedelta(minutes=10)
    canceled.sequence = 1
    session.add(canceled)
    session.commit()

    assert notifications.run_retries(now=now) == 2
    assert notifications.run_retries(now=now + timedelta(minutes=1)) == 0

    by_recipient = {m.rcpt_tos[0]: m for m in smtp.messages}
    assert set(by_recipient) == {"missed@example.com", "canceled@example.com"}
    assert by_recipient["missed@example.com"]["Subject"].startswith("Lesson booked")
    assert by_recipient["canceled@example.com"]["Subject"].startswith("Lesson canceled")
    # The late follow-up itself then sends nothing more.
    assert notifications.booking_confirmed(missed.id) is False
