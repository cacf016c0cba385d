"""Emails about lessons, to students and to their tutors, each sent at most once across all
workers.

Every email is a row in `notifications` with a unique `dedupe_key`:
    "<booking id>:confirmation"                  on booking
    "<booking id>:reminder:<start, UTC>"         24 hours before (again after a reschedule)
    "<booking id>:canceled"                      on cancel (kind `canceled_by_tutor` when the
                                                 tutor called it off: their reason, and the
                                                 full refund; one cancel notice either way)
    "<booking id>:rescheduled:<sequence>"        on each reschedule
    "<booking id>:tutor:booked" / ":tutor:canceled" / ":tutor:rescheduled:<sequence>"
                                                 the tutor's own (`tutor_mail`), only when an
                                                 account runs the booking's tutor profile
The sender first *claims* the row (`INSERT ... ON CONFLICT DO NOTHING`: only one process
gets it, whichever worker, webhook retry or thread asks), commits, then sends, then sets
`sent_at`. A failure increments `attempts` and stores `last_error`; `retry_failed` (a periodic
job) tries again on a schedule counted from the row's creation (`RETRY_AFTER`), under a
per-notification lease so two retriers never send the same row at once. A sent row is never
sent again. A claimed row that never finished (the process died mid-send) is retried after
`STALE_CLAIM`; the one gap left is a crash between the SMTP server accepting the message and
`sent_at` being written, which sends that email twice rather than never. And a booking whose
follow-up never ran at all (the process died right after the commit) still gets its
confirmation or cancel notice: `send_missed`, part of the retry job, looks for recent bookings
without one (and, for a tutor with an account, the tutor's booking and cancel notices).

Reminder rule: one reminder per lesson time, for lessons starting within the next 24 hours
(any time before the start: a late reminder is still useful, one after the start is not). A
lesson booked, or moved, less than 24 hours ahead gets none: its confirmation (or reschedule
notice) has just told the student, and a second email minutes later is noise.

What is sent is built from the booking as it is when the email goes out, so a retried
confirmation shows the current time. Emails that no longer make sense when their turn
comes (a reminder for a canceled or already started lesson, a confirmation for a canceled
booking) are skipped and marked so (`attempts = MAX_ATTEMPTS`, `last_error = "skipped: ..."`).
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from tutor_app.catalog.pricing import format_money
from tutor_app.catalog.tutor_catalog import get_tutor
from tutor_app.core import clock, jobs, routes
from tutor_app.core import db as app_db
from tutor_app.core.ids import new_id
from tutor_app.core.models import Booking, BookingKind, BookingStatus, Notification, Role, User
from tutor_app.core.settings import get_settings
from tutor_app.core.timefmt import format_datetime, format_duration, format_range, safe_zone
from tutor_app.integrations.mail_transport import Attachment, send_mail
from tutor_app.mail import tutor_mail
from tutor_app.mail.ics import Method, google_calendar_link, lesson_calendar
from tutor_app.mail.rendering import Email as Email  # re-exported: account_mail's too
from tutor_app.mail.rendering import NoRecipient as NoRecipient
from tutor_app.mail.rendering import greeting, render_html, render_text

log = logging.getLogger(__name__)

CONFIRMATION = "confirmation"
REMINDER = "reminder"
CANCELED = "canceled"
RESCHEDULED = "rescheduled"
CANCELED_BY_TUTOR = "canceled_by_tutor"  # the student's cancel notice when the tutor canceled
STUDENT_KINDS = (CONFIRMATION, REMINDER, CANCELED, RESCHEDULED, CANCELED_BY_TUTOR)
KINDS = (*STUDENT_KINDS, *tutor_mail.KINDS)
# Emails about a lesson that is off, and those that make sense only while it is on.
_CANCEL_KINDS = (CANCELED, CANCELED_BY_TUTOR, tutor_mail.TUTOR_CANCELED)
_LIVE_KINDS = (CONFIRMATION, RESCHEDULED, tutor_mail.TUTOR_BOOKED, tutor_mail.TUTOR_RESCHEDULED)

REMINDER_LEAD = timedelta(hours=24)
# A claimed row with no recorded outcome this old belongs to a process that died mid-send.
STALE_CLAIM = timedelta(minutes=10)
# When retry n (1-based) may run, counted from the row's creation; then we give up.
RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=8),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
# A booking this old without its confirmation row missed its follow-up (see send_missed)...
MISSED_GRACE = timedelta(minutes=2)
# ...unless it is older than this: never mail about bookings from before the app sent mail.
MISSED_WINDOW = timedelta(hours=48)
RETRY_SCAN = 500  # unsent rows looked at per run (the due ones among them are tried)
RETRY_TIME_BUDGET_SECONDS = 90.0
FALLBACK_TUTOR_NAME = "your tutor"
FREE_PRICE = "Free"  # a free consultation's price, as its emails show it


# ---------------------------------------------------------------- keys


def confirmation_key(booking_id: str) -> str:
    return f"{booking_id}:{CONFIRMATION}"


def reminder_key(booking: Booking) -> str:
    """One reminder per lesson *time*: a lesson moved to another day is reminded again."""
    return f"{booking.id}:{REMINDER}:{booking.start_time:%Y%m%dT%H%M%SZ}"


def canceled_key(booking_id: str) -> str:
    return f"{booking_id}:{CANCELED}"


def rescheduled_key(booking_id: str, sequence: int) -> str:
    return f"{booking_id}:{RESCHEDULED}:{sequence}"


# ---------------------------------------------------------------- events


def booking_confirmed(booking_id: str) -> bool:
    """Email the booking confirmation with the `.ics` invitation; True when this call sent it."""
    return send_once(booking_id=booking_id, kind=CONFIRMATION, key=confirmation_key(booking_id))


def booking_canceled(booking_id: str, *, now: datetime | None = None) -> bool:
    """Email the cancel notice (the `.ics` with METHOD:CANCEL); True when this call sent it.

    When the tutor canceled, the notice is the `canceled_by_tutor` kind, under the same key.
    """
    with app_db.session() as db:
        booking = db.get(Booking, booking_id)
        by_tutor = booking is not None and (
            booking.cancel_reason == tutor_mail.TUTOR_CANCELED_REASON)
    kind = CANCELED_BY_TUTOR if by_tutor else CANCELED
    return send_once(booking_id=booking_id, kind=kind, key=canceled_key(booking_id), now=now)


def booking_rescheduled(booking_id: str) -> bool:
    """Email the new time (an updated `.ics`); once per reschedule, keyed by the sequence."""
    with app_db.session() as db:
        booking = db.get(Booking, booking_id)
        if booking is None:
            log.warning("notification rescheduled: booking %s not found", booking_id)
            return False
        key = rescheduled_key(booking_id, booking.sequence)
    return send_once(booking_id=booking_id, kind=RESCHEDULED, key=key)


def tutor_booking_created(booking_id: str) -> bool:
    """Email the tutor the new booking, with their calendar file; True when this call sent it."""
    return _to_tutor(booking_id, tutor_mail.TUTOR_BOOKED)


def tutor_booking_canceled(booking_id: str) -> bool:
    """Email the tutor that the lesson is off (whoever canceled it), the file removing it."""
    return _to_tutor(booking_id, tutor_mail.TUTOR_CANCELED)


def tutor_booking_rescheduled(booking_id: str) -> bool:
    """Email the tutor the lesson's new time; once per reschedule, keyed by the sequence."""
    return _to_tutor(booking_id, tutor_mail.TUTOR_RESCHEDULED)


def _to_tutor(booking_id: str, kind: str, *, now: datetime | None = None) -> bool:
    """Send the tutor's email of `kind` once, when an account runs the booking's tutor profile
    (without one nothing is claimed: there is nobody to retry for)."""
    with app_db.session() as db:
        booking = db.get(Booking, booking_id)
        if booking is None:
            log.warning("tutor notification %s: booking %s not found", kind, booking_id)
            return False
        if tutor_mail.tutor_account(db, booking.tutor_id) is None:
            return False
        key = {
            tutor_mail.TUTOR_BOOKED: tutor_mail.booked_key(booking_id),
            tutor_mail.TUTOR_CANCELED: tutor_mail.canceled_key(booking_id),
            tutor_mail.TUTOR_RESCHEDULED: tutor_mail.rescheduled_key(booking_id,
                                                                     booking.sequence),
        }[kind]
    return send_once(booking_id=booking_id, kind=kind, key=key, now=now)


def send_once(*, booking_id: str, kind: str, key: str, now: datetime | None = None) -> bool:
    """Claim the email `key` and send it; True only for the call that sent it.

    False when another call has claimed the key (sent, sending, or failed and awaiting a
    retry), when the email no longer makes sense, or when sending failed (recorded on the row
    for `retry_failed`). Never raises for mail trouble. Owns its transactions.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    now = now or clock.now()
    # The email is rendered from the same read as the "still makes sense" check, before the
    # claim: one read transaction per email instead of a second one after the claim (this runs
    # after every booking). A claim lost to another sender wastes the rendering, rarely.
    email: Email | None = None
    problem: str | Exception | None = None
    with app_db.session() as db:
        booking = db.get(Booking, booking_id)
        if booking is None:
            log.warning("notification %s: booking %s not found", kind, booking_id)
            return False
        reason = _obsolete(booking, kind, now)
        if reason:
            log.info("notification %s for booking %s not sent: %s", kind, booking_id, reason)
            return False
        try:
            email = compose(db, booking=booking, kind=kind, now=now)
        except NoRecipient:
            problem = "no email address"
        except Exception as exc:  # a rendering bug: recorded on the claimed row, retried
            problem = exc
    notification_id = _claim(key=key, booking_id=booking_id, kind=kind, now=now)
    if notification_id is None:
        return False
    if isinstance(problem, Exception):
        _record_failure(notification_id, problem)
        return False
    return _deliver(notification_id, kind, email, skip=problem, now=now)


# ---------------------------------------------------------------- jobs


def send_due_reminders(now: datetime | None = None) -> int:
    """Send the reminders that are due (see the module docstring); returns how many this call
    sent. Safe to run in several workers at once: each reminder is claimed once."""
    now = now or clock.now()
    with app_db.session() as db:
        bookings = db.exec(
            select(Booking)
            .where(
                Booking.status == BookingStatus.SCHEDULED,
                col(Booking.start_time) > now,
                col(Booking.start_time) <= now + REMINDER_LEAD,
            )
            .order_by(col(Booking.start_time))
        ).all()
        if not bookings:
            return 0
        ids = [b.id for b in bookings]
        notices = db.exec(
            select(Notification).where(col(Notification.booking_id).in_(ids))
        ).all()
    existing = {n.dedupe_key for n in notices}
    last_notice: dict[str, datetime] = {}
    for n in notices:
        if n.kind in (CONFIRMATION, RESCHEDULED):
            previous = last_notice.get(n.booking_id, n.created_at)
            last_notice[n.booking_id] = max(n.created_at, previous)
    sent = 0
    for booking in bookings:
        key = reminder_key(booking)
        if key in existing:
            continue
        told_at = max(booking.created_at, last_notice.get(booking.id, booking.created_at))
        if told_at > booking.start_time - REMINDER_LEAD:
            continue  # booked or moved less than a day ahead: that email was the reminder
        if send_once(booking_id=booking.id, kind=REMINDER, key=key, now=now):
            sent += 1
    return sent


def is_due_for_retry(row: Notification, now: datetime) -> bool:
    """Whether an unsent notification may be tried again at `now`."""
    if row.sent_at is not None or row.attempts >= MAX_ATTEMPTS:
        return False
    if row.attempts == 0:
        return row.created_at <= now - STALE_CLAIM
    return row.created_at + RETRY_AFTER[row.attempts - 1] <= now


def retry_failed(now: datetime | None = None) -> int:
    """Try the unsent notifications that are due again; returns how many were sent.

    Each retry holds the lease `notification:<id>` while it sends, so two retriers (two
    workers, or the CLI beside the app) never send the same row at the same time.
    """
    now = now or clock.now()
    deadline = time.monotonic() + RETRY_TIME_BUDGET_SECONDS
    with app_db.session() as db:
        rows = db.exec(
            select(Notification)
            .where(
                col(Notification.sent_at).is_(None),
                col(Notification.attempts) < MAX_ATTEMPTS,
                col(Notification.created_at) <= now - RETRY_AFTER[0],
            )
            .order_by(col(Notification.created_at))
            .limit(RETRY_SCAN)
        ).all()
        due = [row.id for row in rows if is_due_for_retry(row, now)]
    holder = f"{jobs.HOLDER}:{uuid.uuid4().hex[:8]}"
    sent = 0
    for notification_id in due:
        if time.monotonic() > deadline:
            break  # the rest wait for the next run; the job's lease must not run out
        lease = f"notification:{notification_id}"
        if not jobs.acquire_lease(lease, holder, STALE_CLAIM, now=now):
            continue
        try:
            with app_db.session() as db:
                row = db.get(Notification, notification_id)
                if row is None or not is_due_for_retry(row, now):
                    continue  # another retrier got there first
            if _attempt(notification_id, now=now):
                sent += 1
        finally:
            jobs.release_lease(lease, holder)
    return sent


def retry_one(notification_id: str, *, now: datetime | None = None) -> bool:
    """Try one unsent notification again now, even after the retries gave up (a person asked:
    the admin's payments health page). Under the same lease as `retry_failed`, so it never
    sends at the same time as the job; True when sent."""
    now = now or clock.now()
    holder = f"{jobs.HOLDER}:{uuid.uuid4().hex[:8]}"
    lease = f"notification:{notification_id}"
    if not jobs.acquire_lease(lease, holder, STALE_CLAIM, now=now):
        return False
    try:
        with app_db.session() as db:
            row = db.get(Notification, notification_id)
            if row is None or row.sent_at is not None:
                return False
        return _attempt(notification_id, now=now)
    finally:
        jobs.release_lease(lease, holder)


def send_missed(now: datetime | None = None) -> int:
    """Send confirmations and cancel notices whose event follow-up never ran; returns how many.

    The write side calls `lesson_events` after its commit; if the process dies in between (or
    a code path forgets the call), the student would never hear. This sweep finds recent
    bookings (created, or canceled, between `MISSED_GRACE` and `MISSED_WINDOW` ago) that
    have no such notification row at all and sends it; the claim keeps it to one email even
    when the follow-up runs late at the same moment. The tutor's notices likewise: a new
    booking of a tutor with an account, and the cancel of a booking the tutor was told of.
    """
    now = now or clock.now()
    newest, oldest = now - MISSED_GRACE, now - MISSED_WINDOW
    with app_db.session() as db:
        def has_row(*kinds: str) -> sa.ColumnElement[bool]:
            return sa.exists().where(
                col(Notification.booking_id) == col(Booking.id),
                col(Notification.kind).in_(kinds),
            )

        has_tutor_account = sa.exists().where(
            col(User.tutor_id) == col(Booking.tutor_id), col(User.role) == Role.TUTOR,
            col(User.deleted_at).is_(None),
        )

        unconfirmed = db.exec(
            select(Booking.id).where(
                Booking.status == BookingStatus.SCHEDULED,
                col(Booking.created_at) <= newest,
                col(Booking.created_at) >= oldest,
                col(Booking.start_time) > now,
                ~has_row(CONFIRMATION),
            )
        ).all()
        unannounced = db.exec(
            select(Booking.id).where(
                Booking.status == BookingStatus.CANCELED,
                col(Booking.canceled_at) <= newest,
                col(Booking.canceled_at) >= oldest,
                ~has_row(CANCELED, CANCELED_BY_TUTOR),
            )
        ).all()
        tutor_untold = db.exec(
            select(Booking.id).where(
                Booking.status == BookingStatus.SCHEDULED,
                col(Booking.created_at) <= newest,
                col(Booking.created_at) >= oldest,
                col(Booking.start_time) > now,
                has_tutor_account,
                ~has_row(tutor_mail.TUTOR_BOOKED),
            )
        ).all()
        tutor_unannounced = db.exec(
            select(Booking.id).where(
                Booking.status == BookingStatus.CANCELED,
                col(Booking.canceled_at) <= newest,
                col(Booking.canceled_at) >= oldest,
                has_row(tutor_mail.TUTOR_BOOKED),  # the tutor knew of it: slot-taken never was
                ~has_row(tutor_mail.TUTOR_CANCELED),
            )
        ).all()
    sent = 0
    for booking_id in unconfirmed:
        log.warning("booking %s has no confirmation email; sending it now", booking_id)
        sent += send_once(booking_id=booking_id, kind=CONFIRMATION,
                          key=confirmation_key(booking_id), now=now)
    for booking_id in unannounced:
        log.warning("booking %s has no cancel notice; sending it now", booking_id)
        sent += booking_canceled(booking_id, now=now)
    for booking_id in tutor_untold:
        log.warning("booking %s: its tutor was not told; sending it now", booking_id)
        sent += _to_tutor(booking_id, tutor_mail.TUTOR_BOOKED, now=now)
    for booking_id in tutor_unannounced:
        log.warning("booking %s: its tutor has no cancel notice; sending it now", booking_id)
        sent += _to_tutor(booking_id, tutor_mail.TUTOR_CANCELED, now=now)
    return sent


def run_retries(now: datetime | None = None) -> int:
    """The "notification-retries" job: failed emails again, then missed ones."""
    now = now or clock.now()
    return retry_failed(now) + send_missed(now)



# ---------------------------------------------------------------- claiming and sending


@functools.cache
def _claim_statement(dialect_name: str) -> Any:
    """`INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`, built once per dialect
    (it runs after every booking; building it cost more than running it)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = Notification.__table__  # type: ignore[attr-defined]
    return (
        dialect.insert(table)
        .values({
            **{name: sa.bindparam(name, type_=table.c[name].type)
               for name in ("id", "dedupe_key", "booking_id", "kind", "created_at")},
            "attempts": 0,
        })
        .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
        .returning(table.c.id)  # rowcount of an INSERT is not reliable on every driver
    )


def _claim(*, key: str, booking_id: str, kind: str, now: datetime) -> str | None:
    """Insert the notification row unless the key exists; its id when this call got it."""
    engine = app_db.engine()
    notification_id = new_id()
    values = {"id": notification_id, "dedupe_key": key, "booking_id": booking_id, "kind": kind,
              "created_at": now}
    with app_db.writer_turn(), engine.begin() as conn:
        claimed = conn.execute(_claim_statement(engine.dialect.name), values).scalar_one_or_none()
    return notification_id if claimed == notification_id else None


def _attempt(notification_id: str, *, now: datetime) -> bool:
    """Render and send a claimed notification; record the outcome. True when sent."""
    skip: str | None = None
    email: Email | None = None
    try:
        with app_db.session() as db:
            row = db.get(Notification, notification_id)
            booking = db.get(Booking, row.booking_id) if row else None
            if row is None or booking is None:
                return False
            kind = row.kind
            skip = _obsolete(booking, kind, now)
            if skip is None:
                email = compose(db, booking=booking, kind=kind, now=now)
    except NoRecipient:
        skip = "no email address"
    except Exception as exc:  # a rendering bug is recorded and retried like a mail failure
        _record_failure(notification_id, exc)
        return False
    return _deliver(notification_id, kind, email, skip=skip, now=now)


def _deliver(
    notification_id: str, kind: str, email: Email | None, *, skip: str | None, now: datetime
) -> bool:
    """Send a claimed, rendered notification (or mark it skipped); record the outcome."""
    if skip is not None or email is None:
        _update(notification_id, attempts=MAX_ATTEMPTS, last_error=f"skipped: {skip}")
        log.info("notification %s skipped: %s", notification_id, skip)
        return False
    try:
        send_mail(to=email.to, subject=email.subject, text=email.text, html=email.html,
                  attachments=email.attachments)
    except Exception as exc:  # MailError above all
        _record_failure(notification_id, exc)
        return False
    _update(notification_id, sent_at=now, last_error=None)
    log.info("notification %s (%s) sent", notification_id, kind)
    return True


@functools.cache
def _update_statement(columns: tuple[str, ...]) -> Any:
    """UPDATE of `columns` on an unsent row, built once per set of columns."""
    table = Notification.__table__  # type: ignore[attr-defined]
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("notification_id"), table.c.sent_at.is_(None))
        .values({name: sa.bindparam(name, type_=table.c[name].type) for name in columns})
    )


def _update(notification_id: str, **values: object) -> None:
    with app_db.writer_turn(), app_db.engine().begin() as conn:
        conn.execute(_update_statement(tuple(sorted(values))),
                     {"notification_id": notification_id, **values})


def _record_failure(notification_id: str, exc: Exception) -> None:
    table = Notification.__table__  # type: ignore[attr-defined]
    error = f"{type(exc).__name__}: {exc}"[:1024]
    with app_db.engine().begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.id == notification_id, table.c.sent_at.is_(None))
            .values(attempts=table.c.attempts + 1, last_error=error)
        )
        attempts = conn.execute(
            sa.select(table.c.attempts).where(table.c.id == notification_id)
        ).scalar_one_or_none()
    if attempts is not None and attempts >= MAX_ATTEMPTS:
        log.error("notification %s failed %d times; giving up: %s", notification_id, attempts,
                  error)
    else:
        log.warning("notification %s failed (attempt %s), will retry: %s", notification_id,
                    attempts, error)


def _obsolete(booking: Booking, kind: str, now: datetime) -> str | None:
    """Why this email should no longer go out, or None when it should."""
    if kind == REMINDER:
        if booking.status != BookingStatus.SCHEDULED:
            return f"lesson is {booking.status.lower()}"
        if booking.start_time <= now:
            return "lesson has started"
    elif kind in _LIVE_KINDS:
        if booking.status == BookingStatus.CANCELED:
            return "booking was canceled"
    elif kind in _CANCEL_KINDS and booking.status != BookingStatus.CANCELED:
        return "booking is not canceled"
    return None


# ---------------------------------------------------------------- content


@dataclass(frozen=True)
class _Facts:
    to: str
    student_name: str
    zone: str
    zone_known: bool
    tutor_name: str
    when: str
    when_short: str
    length: str
    price: str
    dashboard_url: str


def _facts(db: Session, booking: Booking) -> _Facts:
    email, name, zone = None, "", None
    if booking.user_id:
        user = db.get(User, booking.user_id)
        if user is not None and user.deleted_at is not None:
            raise NoRecipient(booking.id)  # the account was deleted: nobody to write to
        if user is not None:
            email, name, zone = user.email, user.name, user.timezone
    email = email or booking.customer_email
    if not email:
        raise NoRecipient(booking.id)
    tutor = get_tutor(db, booking.tutor_id, include_inactive=True)
    zone_name = safe_zone(zone)
    minutes = int((booking.end_time - booking.start_time).total_seconds() // 60)
    return _Facts(
        to=email,
        student_name=name.strip(),
        zone=zone_name,
        zone_known=bool(zone) and zone_name == zone,
        tutor_name=tutor.name if tutor else FALLBACK_TUTOR_NAME,
        when=format_range(booking.start_time, booking.end_time, zone_name),
        when_short=f"{format_datetime(booking.start_time, zone_name)} ({zone_name})",
        length=format_duration(minutes),
        price=FREE_PRICE if booking.kind == BookingKind.CONSULTATION
        else format_money(booking.price_cents, booking.currency),
        dashboard_url=f"{get_settings().app_url}/dashboard",
    )


def _in_about(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    if minutes < 90:
        return f"{minutes} minutes" if minutes != 1 else "1 minute"
    return f"{round(minutes / 60)} hours"


def compose(db: Session, *, booking: Booking, kind: str, now: datetime) -> Email:
    """The email of `kind` for `booking`: the student's in their time zone (UTC when unknown),
    the tutor's (`tutor_mail`) in the tutor's."""
    if kind in tutor_mail.KINDS:
        return tutor_mail.compose(db, booking=booking, kind=kind, now=now)
    facts = _facts(db, booking)
    tutor = facts.tutor_name
    attachments: tuple[Attachment, ...] = ()
    extra: list[str] = []
    links: list[tuple[str, str]] = [("See your lessons", facts.dashboard_url)]
    if kind == CONFIRMATION:
        subject = f"Lesson booked: {tutor}, {facts.when_short}"
        intro = f"Your lesson with {tutor} is booked and paid."
        if booking.kind == BookingKind.CONSULTATION:  # free: nothing was paid
            subject = f"Free consultation booked: {tutor}, {facts.when_short}"
            intro = f"Your free {facts.length} consultation with {tutor} is booked."
        attachments = (_invite(booking, facts, "REQUEST"),)
        links.append(("Add to Google Calendar", google_calendar_link(booking, tutor)))
        extra.append("The attached calendar file (.ics) adds it to Apple Calendar or Outlook.")
    elif kind == REMINDER:
        subject = f"Reminder: lesson with {tutor}, {facts.when_short}"
        intro = (f"A reminder: your lesson with {tutor} starts in about "
                 f"{_in_about(booking.start_time - now)}.")
    elif kind == CANCELED:
        subject = f"Lesson canceled: {tutor}, {facts.when_short}"
        intro = f"Your lesson with {tutor} has been canceled."
        if booking.cancel_reason:
            extra.append(f"Reason: {booking.cancel_reason}")
        if booking.refunded_cents > 0:
            extra.append(
                f"A refund of {format_money(booking.refunded_cents, booking.currency)} is on "
                "its way to your card; it can take a few days to show."
            )
        attachments = (_invite(booking, facts, "CANCEL"),)
        extra.append("The attached calendar file removes it from your calendar.")
    elif kind == CANCELED_BY_TUTOR:
        subject = f"Your tutor canceled your lesson: {tutor}, {facts.when_short}"
        intro = (f"{tutor} had to cancel your lesson. You are refunded in full: "
                 f"{facts.price}.")
        if booking.cancel_note:
            extra.append(f"Your tutor's reason: {booking.cancel_note}")
        extra.append("The refund is on its way to your card; it can take a few days to show.")
        attachments = (_invite(booking, facts, "CANCEL"),)
        extra.append("The attached calendar file removes it from your calendar.")
        links.append(("Book another time",
                      get_settings().app_url + routes.book_now(booking.tutor_id)))
    elif kind == RESCHEDULED:
        subject = f"Lesson moved: {tutor}, now {facts.when_short}"
        intro = f"Your lesson with {tutor} has moved to a new time."
        attachments = (_invite(booking, facts, "REQUEST"),)
        links.append(("Add to Google Calendar", google_calendar_link(booking, tutor)))
        extra.append("The attached calendar file updates the event in your calendar.")
    else:
        raise ValueError(f"unknown notification kind {kind!r}")
    rows = [("Tutor", tutor), ("When", facts.when), ("Length", facts.length),
            ("Price", facts.price)]
    if not facts.zone_known:
        extra.append("Times are in UTC because we do not know your time zone yet.")
    return Email(
        to=facts.to,
        subject=subject,
        text=render_text(greeting(facts.student_name), intro, rows, extra, links),
        html=render_html(greeting(facts.student_name), intro, rows, extra, links),
        attachments=attachments,
    )


def _invite(booking: Booking, facts: _Facts, method: Method) -> Attachment:
    content = lesson_calendar(booking, facts.tutor_name, facts.to, method=method,
                              student_name=facts.student_name)
    return Attachment(
        filename=f"lesson-{booking.id}.ics",
        content=content,
        content_type=f"text/calendar; method={method}; charset=utf-8",
    )
