"""Keep each booking's event in its tutor's Google Calendar in step with the booking.

`sync_booking(booking_id)` runs after the booking is committed (a follow-up of the lesson
events, and the `calendar-retry` job); it never raises, so a calendar problem can neither block
nor undo a booking. What it does depends on the booking as it is in the database now:

- SCHEDULED: the event exists with the booking's times (insert, or patch when it exists);
- CANCELED: the event is deleted (404/410 count as done) and the stored event id cleared;
- no connected calendar: the booking's `calendar_sync_status` is "none".

No duplicate events, across retries, workers and duplicate webhooks: the event id is derived
from the booking id (Calendar accepts client-supplied ids), so a second insert of the same
booking gets 409 "duplicate", which is treated as "exists" and followed by a patch. Results are
written only if the booking still has the status and times the call was made with; otherwise
the sync runs again with the new values, so a reschedule that lands mid-sync is not lost.

Failures are visible on the booking (`calendar_sync_status`, `calendar_sync_error`):
a refused grant makes the connection "reconnect needed" and the booking "failed"; a transient
failure (5xx, 429, network) leaves it "pending" with `calendar_sync_next_at` backed off
exponentially (30 s doubling, at most 1 h) until `MAX_ATTEMPTS`, then "failed".
While a sync runs, the booking is "pending" with `next_at` a little ahead, so if the worker
dies mid-call the retry job takes the booking over.

`tutor_app.wiring` runs `sync_booking` after every booking change and `retry_due` as the
"calendar-retry" job.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import (
    Booking,
    BookingKind,
    BookingStatus,
    CalendarConnection,
    Role,
    SyncStatus,
    Tutor,
    User,
)
from tutor_app.core.settings import get_settings
from tutor_app.integrations.google_calendar import (
    CalendarApiError,
    CalendarAuthError,
    CalendarClient,
    CalendarConflict,
    CalendarGone,
    CalendarNotFound,
    CalendarTransientError,
    rfc3339,
)
from tutor_app.tutor_calendar import connections
from tutor_app.tutor_calendar.connections import ConnectionRef, ConnectionStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
# While a sync is in flight its booking is due again after this long (a dead worker's cover).
IN_FLIGHT = timedelta(minutes=2)
# Bookings of a connected tutor still "none" this long after creation missed their follow-up.
MISSED_AFTER = timedelta(minutes=2)
RETRY_BATCH = 50
RETRY_INTERVAL = 30.0
RECONNECT_ERROR = "Google Calendar needs reconnecting"
_ROUNDS = 3  # re-syncs when the booking changed while Google was being called

MISSING = "missing"  # SyncResult.status for a booking that does not exist
_CHANGED = "changed"  # internal: the booking changed while Google was being called


@dataclass(frozen=True)
class SyncResult:
    """What `sync_booking` did: the booking's sync status afterwards, and how it got there."""

    booking_id: str
    status: str  # a SyncStatus value, or MISSING
    action: str = ""  # "inserted", "patched", "deleted", "" (nothing sent to Google)
    event_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Snapshot:
    """The booking as the Google call was made for it."""

    status: str
    start: datetime
    end: datetime
    event_id: str | None


def event_id_for(booking_id: str) -> str:
    """The booking's Google event id: base32hex (a-v, 0-9) of a hash, the same on every worker.

    Hashing rather than encoding the booking id keeps it inside Calendar's alphabet whatever
    the id's characters, and the prefix makes our events recognisable.
    """
    digest = hashlib.sha256(f"tutor-app-booking:{booking_id}".encode()).digest()
    return "tb" + base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def backoff(attempts: int) -> timedelta:
    """The wait before retry number `attempts + 1`: 30 s, 60 s, 120 s, ... capped at 1 h."""
    doubling: int = 2 ** max(attempts, 0)
    return min(BASE_DELAY * doubling, MAX_DELAY)


def _student(db: Session, booking: Booking) -> tuple[str, str | None]:
    """(how to name the student, their email) for the event."""
    user = db.get(User, booking.user_id) if booking.user_id else None
    email = (user.email if user else None) or booking.customer_email
    name = (user.name if user else "") or email or "Student"
    return name, email


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment: tags dropped, script and style bodies too."""

    _HIDDEN = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities come out as the characters
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def plain_text(value: str) -> str:
    """`value` without HTML: tags dropped, their text kept, entities unescaped.

    Repeated until nothing changes, so an escaped tag (`&lt;b&gt;`) cannot come back as markup
    once unescaped, while text such as "x &lt; y" reads "x < y". Google renders an event's
    description as HTML; student-written text must reach it as text only.
    """
    text = value
    for _ in range(8):
        parser = _TextOnly()
        parser.feed(text)
        parser.close()
        stripped = "".join(parser.parts)
        if stripped == text:
            return text.strip()
        text = stripped
    return text.replace("<", "").replace(">", "").strip()  # absurdly nested: no markup at all


def event_body(
    booking: Booking, tutor: Tutor | None, student: str, email: str | None
) -> dict[str, Any]:
    """The Calendar event for a booking (without its id).

    Times are UTC instants with the tutor's zone named, so Google shows them on the tutor's
    wall clock; the student is an attendee (Google sends no invitation: `sendUpdates=none`).
    The student's name and note are reduced to plain text (`plain_text`).
    """
    app_url = get_settings().app_url
    student = plain_text(student) or email or "Student"
    note = plain_text(booking.note)
    subjects = ", ".join(tutor.subjects) if tutor and tutor.subjects else ""
    what = "Free consultation" if booking.kind == BookingKind.CONSULTATION else "Lesson"
    summary = f"{what}: {student}" + (f" \u2014 {subjects}" if subjects else "")
    zone = tutor.timezone if tutor else "UTC"
    lines = [f"Student: {student}" + (f" <{email}>" if email and email != student else "")]
    if subjects:
        lines.append(f"Subjects: {subjects}")
    if note:
        lines.append(f"Note from the student: {note}")
    lines.append(f"Your lessons: {app_url}/tutor")
    body: dict[str, Any] = {
        "summary": summary,
        "description": "\n".join(lines),
        "start": {"dateTime": rfc3339(booking.start_time), "timeZone": zone},
        "end": {"dateTime": rfc3339(booking.end_time), "timeZone": zone},
        "status": "confirmed",
        "reminders": {"useDefault": True},
        "extendedProperties": {"private": {"tutorAppBookingId": booking.id}},
    }
    if email:
        body["attendees"] = [{"email": email, "displayName": student}]
    return body


def sync_booking(booking_id: str, *, now: datetime | None = None) -> SyncResult:
    """Bring the booking's calendar event in line with the booking; never raises.

    Safe to call any number of times, from any worker, at the same time.
    """
    try:
        return _sync(booking_id, now=now)
    except Exception as exc:
        log.exception("calendar sync of booking %s failed unexpectedly", booking_id)
        try:
            return _record_transient(booking_id, f"internal error: {type(exc).__name__}",
                                     now=now or clock.now())
        except Exception:
            log.exception("calendar sync of booking %s: cannot record the failure", booking_id)
            return SyncResult(booking_id, SyncStatus.PENDING, error="internal error")


def _nothing_to_do(booking_id: str) -> SyncResult | None:
    """The result for a booking whose tutor has no calendar and which was never synced, else
    None (then `_prepare` decides).

    Most tutors connect no calendar, and this runs after every booking: one indexed read in a
    plain (deferred) transaction, instead of `_prepare`'s write transaction, which on SQLite
    takes the write lock that the next webhook is waiting for.
    """
    has_calendar = (
        sa.exists()
        .where(col(CalendarConnection.user_id) == col(User.id))
        .where(col(User.tutor_id) == col(Booking.tutor_id), col(User.role) == Role.TUTOR)
    )
    with app_db.session() as db:
        row = db.execute(
            sa.select(
                col(Booking.calendar_sync_status),
                col(Booking.calendar_sync_next_at),
                col(Booking.google_calendar_event_id),
                has_calendar.label("has_calendar"),
            ).where(col(Booking.id) == booking_id)
        ).first()
    if row is None or row.has_calendar:
        return None
    if row.calendar_sync_status != SyncStatus.NONE or row.calendar_sync_next_at is not None:
        return None  # `_prepare` resets it to "none"
    return SyncResult(booking_id, SyncStatus.NONE, event_id=row.google_calendar_event_id)


def _sync(booking_id: str, *, now: datetime | None) -> SyncResult:
    quick = _nothing_to_do(booking_id)
    if quick is not None:
        return quick
    for _round in range(_ROUNDS):
        prepared = _prepare(booking_id, now=now or clock.now())
        if isinstance(prepared, SyncResult):
            return prepared
        snapshot, conn, body = prepared
        try:
            with connections.open_calendar(conn) as client:
                action, event_id = _apply(client, booking_id, snapshot, body)
        except CalendarAuthError as exc:
            log.warning("calendar sync of booking %s: grant refused (%s)", booking_id, exc)
            return _record(booking_id, None, SyncStatus.FAILED, error=RECONNECT_ERROR)
        except CalendarTransientError as exc:
            return _record_transient(booking_id, str(exc), now=now or clock.now())
        except CalendarApiError as exc:
            log.warning("calendar sync of booking %s: %s", booking_id, exc)
            return _record(booking_id, None, SyncStatus.FAILED, error=str(exc)[:1000])
        result = _record(booking_id, snapshot, SyncStatus.SYNCED, event_id=event_id, action=action)
        if result.status != _CHANGED:
            return result
        log.info("booking %s changed during its calendar sync; syncing again", booking_id)
    return _record_transient(
        booking_id, "booking kept changing during sync", now=now or clock.now()
    )


def _prepare(
    booking_id: str, *, now: datetime
) -> SyncResult | tuple[_Snapshot, ConnectionRef, dict[str, Any] | None]:
    """Read the booking and its tutor's calendar; mark the sync in flight. Owns a transaction."""
    with app_db.write_session() as db:
        booking = db.get(Booking, booking_id)
        if booking is None:
            return SyncResult(booking_id, MISSING)
        if booking.status == BookingStatus.COMPLETED:  # the event stays as it is
            return SyncResult(booking_id, booking.calendar_sync_status,
                              event_id=booking.google_calendar_event_id)
        if (
            booking.status == BookingStatus.CANCELED
            and booking.google_calendar_event_id is None
            and booking.calendar_sync_status in (SyncStatus.SYNCED, SyncStatus.NONE)
        ):
            # Deleted already (the id is cleared then), or never put in the calendar.
            return SyncResult(booking_id, booking.calendar_sync_status)
        row = connections.connection_for_tutor(db, tutor_id=booking.tutor_id)
        if row is None:
            return _set_none(db, booking)
        if row.status != ConnectionStatus.CONNECTED:
            return _set_failed(db, booking, RECONNECT_ERROR)
        snapshot = _Snapshot(
            status=booking.status,
            start=booking.start_time,
            end=booking.end_time,
            event_id=booking.google_calendar_event_id,
        )
        body: dict[str, Any] | None = None  # None: delete the event
        if booking.status == BookingStatus.SCHEDULED:
            tutor = tutor_catalog.get_tutor(db, booking.tutor_id, include_inactive=True)
            body = event_body(booking, tutor, *_student(db, booking))
        booking.calendar_sync_status = SyncStatus.PENDING
        booking.calendar_sync_next_at = now + IN_FLIGHT
        db.add(booking)
        db.commit()
        return snapshot, ConnectionRef.of(row), body


def _set_none(db: Session, booking: Booking) -> SyncResult:
    if booking.calendar_sync_status != SyncStatus.NONE or booking.calendar_sync_next_at:
        booking.calendar_sync_status = SyncStatus.NONE
        booking.calendar_sync_next_at = None
        booking.calendar_sync_error = None
        db.add(booking)
        db.commit()
    return SyncResult(booking.id, SyncStatus.NONE, event_id=booking.google_calendar_event_id)


def _set_failed(db: Session, booking: Booking, error: str) -> SyncResult:
    booking.calendar_sync_status = SyncStatus.FAILED
    booking.calendar_sync_next_at = None
    booking.calendar_sync_error = error
    db.add(booking)
    db.commit()
    return SyncResult(booking.id, SyncStatus.FAILED, error=error)


def _apply(
    client: CalendarClient, booking_id: str, snapshot: _Snapshot, body: dict[str, Any] | None
) -> tuple[str, str | None]:
    """The Google calls for one snapshot: (action, event id)."""
    event_id = snapshot.event_id or event_id_for(booking_id)
    if body is None:  # canceled
        with contextlib.suppress(CalendarNotFound, CalendarGone):  # already gone: the goal
            client.delete_event(event_id)
        return "deleted", None
    if snapshot.event_id:
        try:
            client.patch_event(event_id, body)
            return "patched", event_id
        except CalendarNotFound:
            # Not in this calendar (another account was connected since): make it anew.
            event_id = event_id_for(booking_id)
    try:
        client.insert_event({**body, "id": event_id})
        return "inserted", event_id
    except CalendarConflict:
        # Another sync (retry, duplicate webhook, other worker) created it: bring it up to date.
        client.patch_event(event_id, body)
        return "patched", event_id


def _same(booking: Booking, snapshot: _Snapshot | None) -> bool:
    return snapshot is None or (
        booking.status == snapshot.status
        and booking.start_time == snapshot.start
        and booking.end_time == snapshot.end
    )


def _locked_booking(db: Session, booking_id: str) -> Booking | None:
    """The booking with its row lock for the write that follows (None once deleted)."""
    return db.exec(
        select(Booking).where(col(Booking.id) == booking_id).with_for_update()
    ).first()


def _record(
    booking_id: str,
    snapshot: _Snapshot | None,
    status: SyncStatus,
    *,
    event_id: str | None = None,
    action: str = "",
    error: str | None = None,
) -> SyncResult:
    """Write the outcome, unless the booking changed since `snapshot` (then status _CHANGED).

    The row is locked for the check-and-write (FOR UPDATE on PostgreSQL; SQLite's write lock
    is taken at BEGIN by `write_session`), so a reschedule cannot slip in between.
    """
    with app_db.write_session() as db:
        booking = _locked_booking(db, booking_id)
        if booking is None:
            return SyncResult(booking_id, MISSING)
        if not _same(booking, snapshot):
            return SyncResult(booking_id, _CHANGED)
        booking.calendar_sync_status = status
        booking.calendar_sync_error = error
        booking.calendar_sync_next_at = None
        if status == SyncStatus.SYNCED:
            booking.calendar_sync_attempts = 0
        if action == "deleted":
            booking.google_calendar_event_id = None  # no event any more: nothing to delete
        elif event_id is not None:
            booking.google_calendar_event_id = event_id
        booking.updated_at = clock.now()
        db.add(booking)
        db.commit()
        return SyncResult(booking_id, status, action=action,
                          event_id=booking.google_calendar_event_id, error=error)


def _record_transient(booking_id: str, error: str, *, now: datetime) -> SyncResult:
    """One more failed attempt: pending with a backed-off next try, or failed after the last."""
    with app_db.write_session() as db:
        booking = _locked_booking(db, booking_id)
        if booking is None:
            return SyncResult(booking_id, MISSING)
        attempts = booking.calendar_sync_attempts
        booking.calendar_sync_attempts = attempts + 1
        booking.calendar_sync_error = error[:1000]
        if attempts + 1 >= MAX_ATTEMPTS:
            booking.calendar_sync_status = SyncStatus.FAILED
            booking.calendar_sync_next_at = None
        else:
            booking.calendar_sync_status = SyncStatus.PENDING
            booking.calendar_sync_next_at = now + backoff(attempts)
        db.add(booking)
        db.commit()
        log.warning(
            "calendar sync of booking %s: attempt %d failed (%s)%s", booking_id, attempts + 1,
            error, "; giving up" if booking.calendar_sync_status == SyncStatus.FAILED else "",
        )
        return SyncResult(booking_id, booking.calendar_sync_status, error=error)


def due_bookings(db: Session, *, now: datetime, limit: int = RETRY_BATCH) -> list[str]:
    """Ids of bookings whose sync is due: pending ones whose time came, and "none" bookings of
    connected tutors whose follow-up never ran (the worker died between commit and sync)."""
    pending = db.exec(
        select(Booking.id)
        .where(
            col(Booking.calendar_sync_status) == SyncStatus.PENDING,
            col(Booking.calendar_sync_next_at) <= now,
        )
        .order_by(col(Booking.calendar_sync_next_at))
        .limit(limit)
    ).all()
    missed = db.exec(
        select(Booking.id)
        .join(User, sa.and_(col(User.tutor_id) == col(Booking.tutor_id),
                            col(User.role) == Role.TUTOR))
        .join(CalendarConnection, col(CalendarConnection.user_id) == col(User.id))
        .where(
            col(CalendarConnection.status) == ConnectionStatus.CONNECTED,
            col(Booking.calendar_sync_status) == SyncStatus.NONE,
            col(Booking.status) == BookingStatus.SCHEDULED,
            col(Booking.end_time) > now,
            col(Booking.created_at) < now - MISSED_AFTER,
        )
        .limit(limit)
    ).all()
    return list(dict.fromkeys([*pending, *missed]))


def retry_due(*, now: datetime | None = None) -> str:
    """The `calendar-retry` job: sync every due booking once; a summary for the log."""
    now = now or clock.now()
    with app_db.session() as db:
        ids = due_bookings(db, now=now)
    if not ids:
        return ""
    counts: dict[str, int] = {}
    for booking_id in ids:
        status = sync_booking(booking_id, now=now).status
        counts[status] = counts.get(status, 0) + 1
    return "calendar sync: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def retry_now(*, user: User, booking_id: str) -> SyncResult | None:
    """A tutor's "Sync now" on one of their lessons; None when it is not theirs."""
    if not connections.is_calendar_tutor(user):
        return None
    with app_db.session() as db:
        booking = db.get(Booking, booking_id)
        if booking is None or booking.tutor_id != user.tutor_id:
            return None
    return retry_booking(booking_id)


def retry_booking(booking_id: str) -> SyncResult:
    """Sync one booking again now, its attempts counted afresh: the tutor's "Sync now" and the
    admin's retry of a failed sync."""
    with app_db.write_session() as db:
        booking = db.get(Booking, booking_id)
        if booking is None:
            return SyncResult(booking_id, MISSING)
        booking.calendar_sync_attempts = 0
        db.add(booking)
        db.commit()
    return sync_booking(booking_id)

