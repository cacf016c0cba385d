"""The start-up wiring: every follow-up and periodic job registered, once, however often."""

from __future__ import annotations

import subprocess
import sys

from tutor_app import wiring
from tutor_app.accounts import email_links
from tutor_app.booking import lesson_events
from tutor_app.core import jobs
from tutor_app.core.settings import PROJECT_ROOT
from tutor_app.mail import account_mail, notifications, tutor_invite_mail
from tutor_app.payments import reconcile
from tutor_app.tutor_calendar import calendar_sync
from tutor_app.tutors import invites

EXPECTED_JOBS = {
    "reminders": notifications.send_due_reminders,
    "notification-retries": notifications.run_retries,
    "calendar-retry": calendar_sync.retry_due,
    "reconcile": reconcile.reconcile_job,
    "refund_retry": reconcile.refund_retry_job,
    "lesson_completion": reconcile.completion_job,
    "sweep": wiring.sweep,
}
EXPECTED_FOLLOW_UPS = {
    lesson_events.BOOKING_CREATED: [
        ("mail.confirmation", notifications.booking_confirmed),
        ("mail.tutor_booked", notifications.tutor_booking_created),
        ("calendar.sync", calendar_sync.sync_booking),
    ],
    lesson_events.BOOKING_CANCELED: [
        ("mail.canceled", notifications.booking_canceled),
        ("mail.tutor_canceled", notifications.tutor_booking_canceled),
        ("calendar.sync", calendar_sync.sync_booking),
    ],
    lesson_events.BOOKING_RESCHEDULED: [
        ("mail.rescheduled", notifications.booking_rescheduled),
        ("mail.tutor_rescheduled", notifications.tutor_booking_rescheduled),
        ("calendar.sync", calendar_sync.sync_booking),
    ],
}


def test_register_all_twice_registers_each_job_and_follow_up_once() -> None:
    wiring.register_all()
    wiring.register_all()

    assert {name: job.fn for name, job in jobs.JOBS.items()} == EXPECTED_JOBS
    assert jobs.JOBS["reconcile"].interval == reconcile.RECONCILE_EVERY
    assert jobs.JOBS["calendar-retry"].interval == calendar_sync.RETRY_INTERVAL
    assert jobs.JOBS["sweep"].interval == wiring.SWEEP_EVERY
    for event, expected in EXPECTED_FOLLOW_UPS.items():
        assert lesson_events.follow_ups(event) == expected
    assert email_links.mailer() is account_mail.send_link
    assert invites.mailer() is tutor_invite_mail.send_invite


def test_importing_the_domain_modules_registers_nothing() -> None:
    """Only `register_all` registers: a fresh interpreter that imports every module with a
    job or a follow-up, the whole booking side and the account links, finds every registry
    empty."""
    script = """
import tutor_app.booking.cancellation, tutor_app.booking.recording, tutor_app.booking.reschedule
import tutor_app.mail.notifications, tutor_app.payments.reconcile
import tutor_app.payments.stripe_events, tutor_app.tutor_calendar.calendar_sync
import tutor_app.accounts.email_verification, tutor_app.accounts.password_reset
import tutor_app.mail.account_mail, tutor_app.mail.tutor_invite_mail
from tutor_app.accounts import email_links
from tutor_app.tutors import invites
from tutor_app.booking import lesson_events
from tutor_app.core import jobs
from tutor_app.core.settings import PROJECT_ROOT
assert jobs.JOBS == {}, jobs.JOBS
assert all(lesson_events.follow_ups(e) == [] for e in lesson_events.EVENTS)
assert email_links.mailer() is None
assert invites.mailer() is None
print("empty")
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "empty"
