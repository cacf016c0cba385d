"""Payments health: failed Stripe events are kept with their error; reconciliation and the
retries of refunds, emails and calendar syncs go through the product's own paths, each asked
for a reason and recorded in the audit log; a non-admin can do none of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import lesson_start, make_booking, make_user
from tests.fakes.smtp_server import SmtpServer
from tutor_app.admin import audit, payments
from tutor_app.admin.access import NotAdmin
from tutor_app.booking import refunds
from tutor_app.core import clock
from tutor_app.core.models import (
    AuditEntry,
    Booking,
    Notification,
    Refund,
    Role,
    StripeEvent,
    StripeEventFailure,
    SyncStatus,
)
from tutor_app.core.settings import Settings
from tutor_app.mail import notifications
from tutor_app.payments import stripe_events


def _admin(session: Session) -> Any:
    return make_user(session, email="owner@example.com", role=Role.ADMIN)


def _audit(session: Session) -> list[AuditEntry]:
    session.rollback()  # a fresh snapshot
    return list(session.exec(select(AuditEntry)).all())


def _expired_event(event_id: str = "evt_1") -> dict[str, Any]:
    return {"id": event_id, "type": stripe_events.EXPIRED,
            "data": {"object": {"id": "cs_test_gone", "object": "checkout.session"}}}


def test_a_failed_event_is_kept_with_its_error_and_shown_until_handled(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(db: Session, session_id: str) -> bool:
        raise RuntimeError("the hold table is on fire")

    monkeypatch.setattr(stripe_events, "_release_hold", broken)
    with pytest.raises(RuntimeError):
        stripe_events.handle_or_record_failure(_expired_event())

    [failure] = session.exec(select(StripeEventFailure)).all()
    assert (failure.event_id, failure.type, failure.object_id) == (
        "evt_1", stripe_events.EXPIRED, "cs_test_gone")
    assert failure.error == "RuntimeError: the hold table is on fire"
    assert session.get(StripeEvent, "evt_1") is None  # the failed handling left nothing
    [shown] = payments.webhook_events(session)
    assert (shown.status, shown.error, shown.handled_later) == (
        payments.FAILED, failure.error, False)

    monkeypatch.undo()
    assert stripe_events.handle_or_record_failure(_expired_event()) == "no_active_hold"
    session.rollback()  # a fresh snapshot
    shown_now = payments.webhook_events(session)
    assert [(e.status, e.handled_later) for e in shown_now] == [
        (payments.PROCESSED, False), (payments.FAILED, True)]


def test_reconciliation_now_asks_a_reason_and_is_audited(session: Session) -> None:
    admin = _admin(session)

    with pytest.raises(audit.ReasonRequired):
        payments.run_reconciliation(admin, reason="  ")
    assert _audit(session) == []

    result = payments.run_reconciliation(admin, reason="Stripe had an outage")

    assert result.startswith("reconcile skipped") and "0 pending refunds sent" in result
    [entry] = _audit(session)
    assert (entry.action, entry.actor_id, entry.reason, entry.after) == (
        "payments.reconcile", admin.id, "Stripe had an outage", {"result": result})


def test_an_owed_refund_is_retried_through_the_once_only_path_and_audited(
    session: Session,
) -> None:
    admin = _admin(session)
    booking = make_booking(session, start=lesson_start(days=3), session_id="cs_dev_retry",
                           status="CANCELED")
    refunds.owe_refund(session, booking=booking, amount_cents=booking.price_cents,
                       reason="student_canceled", leased=False)
    session.commit()
    [owed] = payments.owed_refunds(session)
    assert (owed.booking_id, owed.status) == (booking.id, payments.FAILED)

    attempt = payments.retry_refund(admin, booking_id=booking.id, reason="Card issue fixed")

    assert attempt.status is refunds.RefundStatus.REFUNDED
    session.rollback()  # a fresh snapshot
    [refund] = session.exec(select(Refund)).all()
    assert refund.stripe_refund_id == f"re_dev_{booking.id}"
    assert payments.owed_refunds(session) == []
    [entry] = _audit(session)
    assert (entry.action, entry.target_id, entry.after) == (
        "refund.retry", booking.id,
        {"status": "refunded", "amount_cents": booking.price_cents,
         "stripe_refund_id": f"re_dev_{booking.id}"})


def test_a_refund_being_sent_is_shown_so_and_not_sent_twice(session: Session) -> None:
    admin = _admin(session)
    booking = make_booking(session, start=lesson_start(days=3), session_id="cs_dev_busy")
    refunds.owe_refund(session, booking=booking, amount_cents=1000, reason="x")  # leased now
    session.commit()

    [owed] = payments.owed_refunds(session)
    attempt = payments.retry_refund(admin, booking_id=booking.id, reason="try again")

    assert owed.status == payments.SENDING
    assert attempt.status is refunds.RefundStatus.IN_PROGRESS
    assert [e.after["status"] for e in _audit(session) if e.after] == ["in_progress"]


@pytest.fixture
def smtp(configure: Callable[..., Settings], tmp_path: Path) -> Any:
    with SmtpServer() as server:
        configure(SMTP_URL=server.url, APP_ENV="dev", OUTBOX_DIR=str(tmp_path / "outbox"))
        yield server


def test_a_failed_email_is_listed_and_sent_again_on_request(session: Session, smtp: SmtpServer
                                                            ) -> None:
    admin = _admin(session)
    student = make_user(session, email="ann@example.com")
    booking = make_booking(session, start=lesson_start(days=3), user=student)
    row = Notification(dedupe_key=notifications.confirmation_key(booking.id),
                       booking_id=booking.id, kind=notifications.CONFIRMATION,
                       attempts=notifications.MAX_ATTEMPTS, last_error="SMTPError: refused",
                       created_at=clock.now() - timedelta(hours=5))
    skipped = Notification(dedupe_key="other", booking_id=booking.id, kind="reminder",
                           last_error="skipped: lesson has started")
    session.add(row)
    session.add(skipped)
    session.commit()
    [failed] = payments.failed_notifications(session)
    assert (failed.notification_id, failed.error) == (row.id, "SMTPError: refused")

    assert payments.retry_notification(admin, notification_id=row.id, reason="SMTP is back")

    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.com",)
    session.rollback()  # a fresh snapshot
    assert payments.failed_notifications(session) == []
    [entry] = _audit(session)
    assert (entry.action, entry.target_id, entry.after) == (
        "notification.retry", row.id, {"sent": True})


def test_a_failed_calendar_sync_is_retried_and_audited(session: Session) -> None:
    admin = _admin(session)
    booking = make_booking(session, start=lesson_start(days=3),
                           calendar_sync_status=SyncStatus.FAILED, calendar_sync_attempts=5,
                           calendar_sync_error="calendar gone")
    [failed] = payments.failed_syncs(session)
    assert (failed.booking_id, failed.error) == (booking.id, "calendar gone")

    status = payments.retry_calendar_sync(admin, booking_id=booking.id, reason="reconnected")

    assert status == SyncStatus.NONE  # the tutor has no calendar now: nothing to write
    session.rollback()  # a fresh snapshot
    again = session.get(Booking, booking.id)
    assert again is not None and again.calendar_sync_status == SyncStatus.NONE
    assert payments.failed_syncs(session) == []
    [entry] = _audit(session)
    assert (entry.action, entry.after) == ("calendar.retry",
                                           {"status": "none", "error": None})


def test_no_action_for_a_non_admin(session: Session) -> None:
    student = make_user(session)
    for action in (
        lambda: payments.run_reconciliation(student, reason="r"),
        lambda: payments.retry_refund(student, booking_id="b", reason="r"),
        lambda: payments.retry_notification(student, notification_id="n", reason="r"),
        lambda: payments.retry_calendar_sync(student, booking_id="b", reason="r"),
    ):
        with pytest.raises(NotAdmin):
            action()
    assert _audit(session) == []
