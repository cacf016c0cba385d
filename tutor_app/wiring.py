"""What runs after a booking changes, which jobs run periodically, and who mails the
accounts' links and tutor invitations: connected here, once.

The booking side (booking/, payments/) knows nothing of emails or calendars: it announces each
committed change through `booking.lesson_events`. This module hooks the student's and the
tutor's emails (mail.notifications) and the tutor's Google Calendar
(tutor_calendar.calendar_sync) to those events, sends the accounts' email links (verification,
password reset) through mail.account_mail and tutor invitations through
mail.tutor_invite_mail, and names every periodic job `core.jobs` runs (`python -m
tutor_app.cli run-job <name>` runs one once). The Reflex app (tutor_app.py), the CLI and the
tests call `register_all()` at start-up; everything is registered by name, so calling it again
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tutor_app.accounts import email_links, users
from tutor_app.booking import lesson_events
from tutor_app.core import jobs, rate_limits
from tutor_app.integrations import oauth
from tutor_app.mail import account_mail, notifications, tutor_invite_mail
from tutor_app.payments import reconcile
from tutor_app.tutor_calendar import calendar_sync
from tutor_app.tutors import invites


@dataclass(frozen=True)
class FollowUp:
    """`fn(booking_id)` runs after every `event` (a `lesson_events` event name)."""

    event: str
    name: str
    fn: Callable[[str], object]


@dataclass(frozen=True)
class PeriodicJob:
    """`fn()` runs every `interval` seconds, in one worker at a time."""

    name: str
    fn: Callable[[], object]
    interval: float


# In the order they run for an event: the student's email first (it matters most and needs
# nothing but our own database), then the tutor's email, then the tutor's calendar (a call to
# Google).
FOLLOW_UPS: tuple[FollowUp, ...] = (
    FollowUp(lesson_events.BOOKING_CREATED, "mail.confirmation", notifications.booking_confirmed),
    FollowUp(lesson_events.BOOKING_CANCELED, "mail.canceled", notifications.booking_canceled),
    FollowUp(lesson_events.BOOKING_RESCHEDULED, "mail.rescheduled",
             notifications.booking_rescheduled),
    FollowUp(lesson_events.BOOKING_CREATED, "mail.tutor_booked",
             notifications.tutor_booking_created),
    FollowUp(lesson_events.BOOKING_CANCELED, "mail.tutor_canceled",
             notifications.tutor_booking_canceled),
    FollowUp(lesson_events.BOOKING_RESCHEDULED, "mail.tutor_rescheduled",
             notifications.tutor_booking_rescheduled),
    *(
        FollowUp(event, "calendar.sync", calendar_sync.sync_booking)
        for event in lesson_events.EVENTS
    ),
)

SWEEP_EVERY = 3600.0  # seconds


def sweep() -> str | None:
    """The "sweep" job: delete expired OAuth states, long-quiet sign-in throttles, rate-limit
    counters whose window closed long ago, and email links long expired."""
    states = oauth.delete_expired_states()
    throttles = users.delete_stale_throttles()
    counters = rate_limits.delete_stale()
    links = email_links.delete_stale()
    if not states and not throttles and not counters and not links:
        return None
    return (f"{states} expired oauth states, {throttles} stale login throttles, "
            f"{counters} stale rate-limit counters and {links} stale email links deleted")


# The names are the CLI's (`run-job <name>`) and the keys of the `job_leases` rows.
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("reminders", notifications.send_due_reminders, interval=60),
    PeriodicJob("notification-retries", notifications.run_retries, interval=60),
    PeriodicJob("calendar-retry", calendar_sync.retry_due, interval=calendar_sync.RETRY_INTERVAL),
    PeriodicJob("reconcile", reconcile.reconcile_job, interval=reconcile.RECONCILE_EVERY),
    PeriodicJob("refund_retry", reconcile.refund_retry_job,
                interval=reconcile.REFUND_RETRY_EVERY),
    PeriodicJob("lesson_completion", reconcile.completion_job,
                interval=reconcile.COMPLETION_EVERY),
    PeriodicJob("sweep", sweep, interval=SWEEP_EVERY),
)


def register_follow_ups() -> None:
    """Hook the emails and the calendar sync to the lesson events (idempotent: by name)."""
    for follow_up in FOLLOW_UPS:
        lesson_events.register_follow_up(follow_up.event, follow_up.fn, name=follow_up.name)


def register_jobs() -> None:
    """Register every periodic job with `core.jobs` (idempotent: by name)."""
    for job in PERIODIC_JOBS:
        jobs.register_job(job.name, job.fn, interval=job.interval)


def register_mailers() -> None:
    """Mail the accounts' links (verification, password reset) with `mail.account_mail`, and
    tutor invitations with `mail.tutor_invite_mail`."""
    email_links.register_mailer(account_mail.send_link)
    invites.register_mailer(tutor_invite_mail.send_invite)


def register_all() -> None:
    """Everything above; call once at start-up (again is harmless)."""
    register_follow_ups()
    register_jobs()
    register_mailers()
