"""The SQLModel tables. Every table lives here so Alembic sees them all at once.

Times are stored in UTC and come back timezone-aware on every database (see `UTCDateTime`).
Columns are snake_case (the Python convention); the Stripe metadata keys, which checkout
sessions already at Stripe carry, keep their exact camelCase names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from tutor_app.core import clock
from tutor_app.core.ids import new_id

WeeklyHours: TypeAlias = dict[str, list[list[str]]]
"""A tutor's working windows per weekday, as stored (JSON): {"mon": [["09:00", "17:00"]], ...}.

In the tutor's own time zone; each window is a [start, end] pair of "HH:MM" strings.
"""


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that must be timezone-aware going in and is UTC-aware coming out.

    SQLite has no time zone type and returns naive values; normalising here keeps every
    comparison in the services between aware datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _time(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=clock.now, sa_type=UTCDateTime, nullable=False)


class Role(StrEnum):
    STUDENT = "student"
    TUTOR = "tutor"
    ADMIN = "admin"


class BookingStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class HoldStatus(StrEnum):
    ACTIVE = "active"  # someone is paying for this slot
    RELEASED = "released"  # the session expired, failed or was abandoned
    CONVERTED = "converted"  # the payment became a booking


class EmailLinkPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"  # proves the mailbox (and may carry a sign-up's password)
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"  # proves a new address; opening it makes it the account's


class SyncStatus(StrEnum):
    NONE = "none"  # the tutor has no calendar connected
    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"


class Tutor(SQLModel, table=True):
    """A catalog tutor, loaded from `tutor_app/catalog/tutors.json` by the seed step."""

    __tablename__ = "tutors"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    photo_url: str
    subjects: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    hourly_rate_cents: int
    currency: str = Field(default="usd", max_length=3)
    bio: str
    timezone: str = Field(max_length=64)
    weekly_hours: WeeklyHours = Field(
        default_factory=dict, sa_type=sa.JSON, nullable=False
    )
    active: bool = True
    updated_at: datetime = _created()
    # The profile and booking rules a tutor edits in the tutor portal.
    headline: str = Field(default="", max_length=120, sa_column_kwargs={"server_default": ""})
    # Lesson lengths offered, in minutes: a subset of `catalog.pricing.ALLOWED_DURATIONS`.
    lesson_durations: list[int] = Field(
        default_factory=lambda: [30, 60, 90], sa_type=sa.JSON, nullable=False
    )
    buffer_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    min_notice_minutes: int = Field(default=720, sa_column_kwargs={"server_default": "720"})
    horizon_days: int = Field(default=60, sa_column_kwargs={"server_default": "60"})
    # Offers a free 15-minute consultation ("intro") to students who have not had one yet.
    offers_consultation: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )


class TutorDateOverride(SQLModel, table=True):
    """One date on which a tutor's hours differ from the weekly ones (in the tutor's zone).

    `windows` replaces that weekday's hours for the date: empty is a day off; a holiday is
    one row per date; extra hours are the weekly windows plus the extra ones.
    """

    __tablename__ = "tutor_date_overrides"
    __table_args__ = (
        sa.UniqueConstraint("tutor_id", "on_date", name="uq_tutor_date_overrides_tutor_date"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tutor_id: str = Field(foreign_key="tutors.id", index=True, max_length=64)
    on_date: date = Field(sa_type=sa.Date, nullable=False)
    windows: list[list[str]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    note: str = Field(default="", max_length=120)
    created_at: datetime = _created()


class TutorInvite(SQLModel, table=True):
    """A single-use invitation, mailed to `email`, to run a tutor profile (new or existing)."""

    __tablename__ = "tutor_invites"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    email: str = Field(max_length=320)
    # The profile the account will run; None: a new profile is made when the invite is accepted.
    tutor_id: str | None = Field(default=None, foreign_key="tutors.id", max_length=64)
    invited_by: str | None = Field(default=None, foreign_key="users.id", max_length=32)
    accepted_by: str | None = Field(default=None, foreign_key="users.id", max_length=32)
    created_at: datetime = _created()
    expires_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)


class User(SQLModel, table=True):
    """A person. Users created from a paid checkout have no password until they sign up."""

    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(unique=True, index=True, max_length=320)
    name: str = ""
    password_hash: str | None = None
    email_verified: bool = False
    role: str = Field(default=Role.STUDENT, max_length=16)
    tutor_id: str | None = Field(default=None, foreign_key="tutors.id", max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    # Set when the person deleted their account: the row stays, anonymised, so the lessons
    # it paid for keep an owner in the tutor's and the business's records.
    deleted_at: datetime | None = _time(nullable=True)
    # Set when an admin disabled the account: nobody signs in to it until it is enabled again.
    disabled_at: datetime | None = _time(nullable=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class OAuthIdentity(SQLModel, table=True):
    """A sign-in identity at an OpenID provider, tied to one user."""

    __tablename__ = "oauth_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject", name="uq_oauth_provider_subject"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=32)
    provider: str = Field(max_length=32)
    subject: str = Field(max_length=255)
    email: str = Field(max_length=320)
    created_at: datetime = _created()


class OAuthState(SQLModel, table=True):
    """One in-flight OAuth redirect: single-use, shared by every worker."""

    __tablename__ = "oauth_states"

    state: str = Field(primary_key=True, max_length=128)
    purpose: str = Field(max_length=16)  # "login" or "calendar"
    provider: str = Field(max_length=32)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    next_url: str = "/"
    user_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    # Sign-in only: SHA-256 of the starting browser's pre-sign-in cookie (accounts.pre_sign_in).
    browser_hash: str | None = Field(default=None, max_length=64)


class SignInSession(SQLModel, table=True):
    """A server-side sign-in session; the cookie holds a token whose hash is stored here."""

    __tablename__ = "auth_sessions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=32)
    created_at: datetime = _created()
    expires_at: datetime = _time()
    revoked_at: datetime | None = _time(nullable=True)
    # Handoff tickets only: SHA-256 of the pre-sign-in cookie of the browser whose form made
    # the ticket; only that browser can redeem it (accounts.pre_sign_in).
    browser_hash: str | None = Field(default=None, max_length=64)
    # The browser's User-Agent when the session began (cut to 255), for "Signed-in devices".
    user_agent: str | None = Field(default=None, max_length=255)


class EmailLink(SQLModel, table=True):
    """A single-use link mailed to `email`; only its token's SHA-256 is stored.

    `email` is the address the link was sent to, so a purpose that proves a new address (an
    email change) carries it here. `pending_password_hash` is a sign-up's chosen password,
    applied only when the link is opened.
    """

    __tablename__ = "email_links"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=32)
    purpose: str = Field(max_length=32)
    email: str = Field(max_length=320)
    pending_password_hash: str | None = None
    created_at: datetime = _created()
    expires_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per (email, client address), so repeated guessing slows down across
    workers without letting one address lock the email's owner out of every other."""

    __tablename__ = "login_throttles"

    email: str = Field(primary_key=True, max_length=320)
    ip: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failure_at: datetime = _created()


class RateLimitCounter(SQLModel, table=True):
    """Hits of one action by one client (an address, an email, an account) in its current
    window; in the database so that every worker and node counts the same hits."""

    __tablename__ = "rate_limit_counters"

    action: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=320)
    hits: int = 0
    window_start: datetime = _created()


class BookingKind(StrEnum):
    LESSON = "lesson"  # paid through Stripe Checkout; written by the webhook
    CONSULTATION = "consultation"  # a free 15-minute intro; confirmed without payment


ONE_CONSULTATION_WHERE = "kind = 'consultation' AND status <> 'CANCELED'"


class Booking(SQLModel, table=True):
    """A paid lesson, written only by the Stripe webhook path (and reconciliation), or a free
    consultation (`kind`), written by `booking.consultations` without Stripe."""

    __tablename__ = "bookings"
    __table_args__ = (
        sa.Index("ix_bookings_user_start", "user_id", "start_time"),
        sa.Index("ix_bookings_tutor_start", "tutor_id", "start_time"),
        sa.Index("ix_bookings_checkout_session", "stripe_checkout_session_id", unique=True),
        # The admin's bookings table (`admin.bookings`): filtered by status and sorted by start,
        # by start alone, found by the payer's email; and the overview's range scans: bookings
        # made between two instants.
        sa.Index("ix_bookings_status_start", "status", "start_time"),
        sa.Index("ix_bookings_start", "start_time"),
        sa.Index("ix_bookings_created", "created_at"),
        sa.Index("ix_bookings_customer_email", "customer_email"),
        sa.CheckConstraint("end_time > start_time", name="ck_bookings_time_order"),
        # One free consultation per student and tutor (a canceled one does not count), kept
        # by the database whatever races in: double clicks, several workers.
        sa.Index(
            "ux_bookings_one_consultation", "user_id", "tutor_id", unique=True,
            sqlite_where=sa.text(ONE_CONSULTATION_WHERE),
            postgresql_where=sa.text(ONE_CONSULTATION_WHERE),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str | None = Field(default=None, foreign_key="users.id", max_length=32)
    # The catalog's string id, not a foreign key: a booking outlives its tutor's listing.
    tutor_id: str = Field(max_length=64)
    start_time: datetime = _time()
    end_time: datetime = _time()
    status: str = Field(default=BookingStatus.SCHEDULED, max_length=16)
    price_cents: int
    currency: str = Field(default="usd", max_length=3)
    stripe_checkout_session_id: str = Field(max_length=255)
    stripe_payment_intent_id: str | None = Field(default=None, max_length=255)
    stripe_customer_id: str | None = Field(default=None, max_length=255)
    google_calendar_event_id: str | None = Field(default=None, max_length=1024)
    note: str = Field(default="", max_length=2000)
    customer_email: str | None = Field(default=None, max_length=320)
    refunded_cents: int = 0
    canceled_at: datetime | None = _time(nullable=True)
    cancel_reason: str | None = Field(default=None, max_length=255)
    kind: str = Field(
        default=BookingKind.LESSON, max_length=16, sa_column_kwargs={"server_default": "lesson"}
    )
    # The words of whoever canceled, for the other side (the tutor's reason, mailed to the
    # student); `cancel_reason` stays the code.
    cancel_note: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})
    # After the lesson began, the tutor (or an admin) says how it went: "attended" or "no_show".
    attendance: str | None = Field(default=None, max_length=16)
    # Bumped on every change the student's calendar file must reflect (iCalendar SEQUENCE).
    sequence: int = 0
    calendar_sync_status: str = Field(default=SyncStatus.NONE, max_length=16)
    calendar_sync_attempts: int = 0
    calendar_sync_next_at: datetime | None = _time(nullable=True)
    calendar_sync_error: str | None = Field(default=None, max_length=1024)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SlotHold(SQLModel, table=True):
    """A tutor's slot kept for one student while their checkout session is open."""

    __tablename__ = "slot_holds"
    __table_args__ = (
        sa.Index("ix_slot_holds_tutor_start", "tutor_id", "start_time"),
        sa.CheckConstraint("end_time > start_time", name="ck_slot_holds_time_order"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tutor_id: str = Field(max_length=64)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=32)
    start_time: datetime = _time()
    end_time: datetime = _time()
    expires_at: datetime = _time()
    status: str = Field(default=HoldStatus.ACTIVE, max_length=16)
    checkout_session_id: str | None = Field(default=None, unique=True, max_length=255)
    checkout_url: str | None = Field(default=None, max_length=2048)
    price_cents: int = 0
    currency: str = Field(default="usd", max_length=3)
    note: str = Field(default="", max_length=2000)
    # The request that placed the hold (core.request_context): its checkout session carries it
    # as `requestId`, and a retried session request for the hold, from any worker, sends the
    # same one (Stripe refuses an idempotency key reused with other parameters).
    request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class StripeEvent(SQLModel, table=True):
    """Every Stripe event id the webhook has handled, recorded once."""

    __tablename__ = "stripe_events"
    # The payments page reads events by time; a booking's admin page by its checkout session
    # and payment intent.
    __table_args__ = (
        sa.Index("ix_stripe_events_received", "received_at"),
        sa.Index("ix_stripe_events_object", "object_id"),
    )

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=128)
    object_id: str | None = Field(default=None, max_length=255)
    received_at: datetime = _created()


class StripeEventFailure(SQLModel, table=True):
    """One failed attempt at handling a verified Stripe event, with its error.

    Written in its own transaction after the handling rolled back (`stripe_events` records a
    handled event only with its effect), so the payments health page can show what failed and
    why; Stripe retries the event, and a later success shows as its `stripe_events` row.
    """

    __tablename__ = "stripe_event_failures"
    __table_args__ = (sa.Index("ix_stripe_event_failures_failed", "failed_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    event_id: str = Field(max_length=255, index=True)
    type: str = Field(max_length=128)
    object_id: str | None = Field(default=None, max_length=255)
    error: str = Field(default="", max_length=1024)
    failed_at: datetime = _created()


class Refund(SQLModel, table=True):
    """Money sent back to a student, as Stripe reported it."""

    __tablename__ = "refunds"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    booking_id: str = Field(foreign_key="bookings.id", index=True, max_length=32)
    stripe_refund_id: str = Field(unique=True, max_length=255)
    amount_cents: int
    currency: str = Field(default="usd", max_length=3)
    reason: str = Field(default="", max_length=255)
    created_at: datetime = _created()


class CalendarConnection(SQLModel, table=True):
    """A tutor's Google Calendar grant; the OAuth token is stored encrypted."""

    __tablename__ = "calendar_connections"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="users.id", unique=True, max_length=32)
    google_email: str = Field(default="", max_length=320)
    encrypted_token: str
    status: str = Field(default="connected", max_length=32)  # or "reconnect_needed"
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Notification(SQLModel, table=True):
    """One email that must be sent at most once (the unique key makes that hold across workers)."""

    __tablename__ = "notifications"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    dedupe_key: str = Field(unique=True, max_length=255)  # e.g. "<booking id>:reminder"
    booking_id: str = Field(foreign_key="bookings.id", index=True, max_length=32)
    kind: str = Field(max_length=32)
    sent_at: datetime | None = _time(nullable=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1024)
    created_at: datetime = _created()


class JobLease(SQLModel, table=True):
    """A named lease so a periodic job runs in one worker at a time."""

    __tablename__ = "job_leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = _time()


class AuditEntry(SQLModel, table=True):
    """One admin action, append-only: who, what, on what, when, why, and the record before and
    after. Nothing updates or deletes these rows (`admin.audit` only inserts)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_target", "target_type", "target_id"),
        sa.Index("ix_audit_log_created", "created_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    actor_id: str | None = Field(default=None, foreign_key="users.id", index=True, max_length=32)
    actor_email: str = Field(default="", max_length=320)  # kept as it was when they acted
    action: str = Field(max_length=64)  # e.g. "booking.refund", "user.disable"
    target_type: str = Field(max_length=32)  # "booking", "user", "tutor", ...
    target_id: str = Field(max_length=64)
    reason: str = Field(default="", max_length=500)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    created_at: datetime = _created()


class BookingEvent(SQLModel, table=True):
    """One step in a booking's life (created, canceled, rescheduled, refunded, attendance, a
    mail sent again ...), with who did it: what the admin's timeline of a booking shows."""

    __tablename__ = "booking_events"
    __table_args__ = (sa.Index("ix_booking_events_booking", "booking_id", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    booking_id: str = Field(foreign_key="bookings.id", max_length=32)
    kind: str = Field(max_length=32)
    # "student", "tutor", "admin", "system" (webhook, jobs), and the user when one acted.
    actor_role: str = Field(default="system", max_length=16)
    actor_id: str | None = Field(default=None, max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    created_at: datetime = _created()


class BookingHour(SQLModel, table=True):
    """Bookings made in one UTC hour, per kind and currency: the admin overview's roll-up.

    Written only by the database: triggers on `bookings` (migration 0013) add each new booking
    in the same transaction that inserts it, so the figures can never drift from the rows.
    On PostgreSQL a busy hour's counts are spread over a few `shard` rows (from a hash of the
    booking id), so concurrent webhooks do not queue on one row lock until they commit.
    """

    __tablename__ = "booking_hours"

    hour: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    kind: str = Field(primary_key=True, max_length=16)
    currency: str = Field(primary_key=True, max_length=3)
    shard: int = Field(default=0, primary_key=True)
    bookings: int = 0
    price_cents: int = Field(default=0, sa_type=sa.BigInteger)


class TutorLessonDay(SQLModel, table=True):
    """Per tutor and UTC day of booking: the lessons booked that day that are not canceled.

    Kept by the same triggers (an insert adds a live lesson; a cancel takes it off again), for
    the overview's lessons-per-tutor chart over long ranges.
    """

    __tablename__ = "tutor_lesson_days"

    tutor_id: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    lessons: int = 0
