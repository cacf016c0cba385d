"""Demo data for a developer's own machine: `python -m tutor_app.cli demo` (`make demo`, and
`make dev`, which calls it).

It fills an empty database with a believable business: every catalog tutor with a few weeks
of lessons before and after today (`clock.now()`), students who booked them, one demo student
with upcoming, past, canceled and refunded lessons, a tutor account running one catalog tutor
and an admin account. Every account signs in with `DEMO_PASSWORD`.

What counts as demo data: a user whose email is at `DEMO_EMAIL_DOMAIN`, a reserved `.test`
name no real mailbox has. A database holding any other user row (signed up, created by a
payment, anonymised by a deletion) holds real users, and nothing is loaded into it. Nor is
anything loaded outside local dev (`Settings.local_dev`: never with APP_ENV=prod, never on an
APP_URL others can reach). Loading twice loads nothing the second time.

The rows are the product's own, made by its own rules: the price from `pricing.quote`, starts
offered by the tutor's weekly hours (`scheduling.availability`), no two lessons of a tutor or
of a student overlapping (on PostgreSQL the `ex_bookings_no_overlap` constraint checks it
again), every status change through `booking.transitions`, a student's refund as the cancel
policy decides it (`cancellation.policy_refund_cents`), recorded the way a dev refund is
(`re_dev_<booking id>`). Checkout sessions carry the dev prefix (`cs_dev_...`), so nothing
here is ever sent to Stripe. Bookings and cancels are dated before the window in which the
notification job mails missed confirmations (`notifications.MISSED_WINDOW`), so loading the
demo sends no mail; the reminders of tomorrow's lessons go out as they would for real.

An entry point (it uses many domains); no Reflex import.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from tutor_app.accounts import passwords
from tutor_app.booking import refunds, transitions
from tutor_app.booking.cancellation import policy_refund_cents
from tutor_app.catalog import pricing, tutor_catalog
from tutor_app.core import clock, timefmt
from tutor_app.core import db as app_db
from tutor_app.core.ids import DEV_CHECKOUT_SESSION_PREFIX
from tutor_app.core.models import Booking, BookingStatus, Refund, Role, Tutor, User
from tutor_app.core.settings import get_settings
from tutor_app.mail.notifications import MISSED_WINDOW
from tutor_app.scheduling import availability

log = logging.getLogger(__name__)

DEMO_EMAIL_DOMAIN = "demo.tutorly.test"
DEMO_PASSWORD = "tutorly-demo"
STUDENT_EMAIL = f"student@{DEMO_EMAIL_DOMAIN}"
STUDENT_NAME = "Alex Morgan"
TUTOR_EMAIL = f"tutor@{DEMO_EMAIL_DOMAIN}"
ADMIN_EMAIL = f"admin@{DEMO_EMAIL_DOMAIN}"

NOT_LOCAL_DEV = (
    "Demo data is loaded on a developer's own machine only (APP_ENV=dev and APP_URL on "
    "localhost); refusing."
)
REAL_USERS = (
    "The database holds {count} user(s) that are not demo accounts (@" + DEMO_EMAIL_DOMAIN
    + "); demo data is loaded only into a database without real users."
)
NO_TUTORS = "The tutor catalog is empty: run `make prestart` first."

# The lessons span this far back and ahead of now, in whole weeks.
WEEKS_BACK = 3
WEEKS_AHEAD = 3
# Students take lessons at waking hours of their own zone: starts from 07:00 to 20:30.
_STUDENT_HOURS = range(7, 21)
# No lesson is under way while the demo is looked at: none starts in this span around now.
_QUIET_BEFORE = timedelta(hours=2)
_QUIET_AFTER = timedelta(hours=2)
# Bookings and cancels are at least this old, so the job that mails missed confirmations and
# cancel notices (it looks back MISSED_WINDOW) leaves them alone.
_SETTLED = MISSED_WINDOW + timedelta(days=1)
_SEED = 20261130  # the same pick of slots and students on every load

# Each account with its time zone, as `/account` would have saved it.
_STUDENT = (STUDENT_NAME, "America/New_York")
_ADMIN = ("Robin Admin", "Europe/London")
_OTHER_STUDENTS = (
    ("Priya Patel", "Europe/London"), ("Noah Williams", "America/Chicago"),
    ("Emma Johansson", "Europe/Stockholm"), ("Lucas Martin", "Europe/Paris"),
    ("Mia Rossi", "Europe/Rome"), ("Oliver Brown", "Australia/Sydney"),
    ("Chloé Dubois", "America/Montreal"),
)
_NOTES = (
    "Working towards an exam in June.",
    "Could we go over last week's homework?",
    "Beginner: please go slowly.",
    "I'd like to practise speaking most of the time.",
)
_TUTOR_CANCEL_NOTE = "I'm away at a conference that week, sorry! Please book another time."


class DemoRefused(Exception):
    """Demo data was not loaded; `str()` says why (NOT_LOCAL_DEV, REAL_USERS, NO_TUTORS)."""


@dataclass(frozen=True)
class DemoSignIn:
    """One account to try the app as: who it is, its email and its password."""

    who: str
    email: str
    password: str = DEMO_PASSWORD


@dataclass(frozen=True)
class DemoResult:
    """What `load_demo` did: `loaded` False when the demo was there already."""

    loaded: bool
    sign_ins: tuple[DemoSignIn, ...]
    lessons: int = 0


def is_demo_email(email: str) -> bool:
    """Whether `email` (as stored: normalised) is a demo account's."""
    return email.endswith(f"@{DEMO_EMAIL_DOMAIN}")


def load_demo(*, now: datetime | None = None) -> DemoResult:
    """Load the demo data in one transaction, once; raise DemoRefused when it must not be."""
    if not get_settings().local_dev:
        raise DemoRefused(NOT_LOCAL_DEV)
    now = now or clock.now()
    with app_db.write_session() as db:
        existing = db.exec(select(User).where(col(User.email) == STUDENT_EMAIL)).first()
        real = _real_users(db)
        if real:
            raise DemoRefused(REAL_USERS.format(count=real))
        if existing is not None:
            return DemoResult(loaded=False, sign_ins=_sign_ins(db))
        tutors = tutor_catalog.list_tutors(db)
        if not tutors:
            raise DemoRefused(NO_TUTORS)
        lessons = _Builder(db, tutors, now).build()
        db.commit()
        sign_ins = _sign_ins(db)
    log.info("demo data loaded: %d lessons", lessons)
    return DemoResult(loaded=True, sign_ins=sign_ins, lessons=lessons)


def _real_users(db: Session) -> int:
    return int(db.exec(
        select(func.count()).select_from(User)
        .where(col(User.email).not_like(f"%@{DEMO_EMAIL_DOMAIN}"))
    ).one())


def _sign_ins(db: Session) -> tuple[DemoSignIn, ...]:
    account = db.exec(select(User).where(col(User.email) == TUTOR_EMAIL)).first()
    tutor = db.get(Tutor, account.tutor_id) if account and account.tutor_id else None
    return (
        DemoSignIn("student (upcoming, past, canceled and refunded lessons)", STUDENT_EMAIL),
        DemoSignIn(f"tutor ({tutor.name})" if tutor else "tutor", TUTOR_EMAIL),
        DemoSignIn("admin", ADMIN_EMAIL),
    )


def _email(name: str) -> str:
    local = "".join(c for c in name.lower().replace(" ", ".") if c.isalnum() or c == ".")
    return f"{local}@{DEMO_EMAIL_DOMAIN}"


@dataclass
class _Lesson:
    """A lesson being planned: its slot and who takes it."""

    tutor: Tutor
    student: User
    start: datetime
    minutes: int


@dataclass
class _Builder:
    """Plans and writes the demo rows in the caller's transaction."""

    db: Session
    tutors: Sequence[Tutor]
    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(_SEED))
    busy: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def build(self) -> int:
        """Every row; the number of lessons."""
        # One Argon2 hash for every account: they share the password, and a hash is costly.
        password_hash = passwords.hash_password(DEMO_PASSWORD)
        student = self._user(STUDENT_EMAIL, *_STUDENT, password_hash)
        own_tutor = self.tutors[0]
        self._user(TUTOR_EMAIL, own_tutor.name, own_tutor.timezone, password_hash,
                   role=Role.TUTOR, tutor_id=own_tutor.id)
        self._user(ADMIN_EMAIL, *_ADMIN, password_hash, role=Role.ADMIN)
        others = [self._user(_email(name), name, zone, password_hash)
                  for name, zone in _OTHER_STUDENTS]
        self.db.flush()
        for booking in self.db.exec(select(Booking).where(
                Booking.status == BookingStatus.SCHEDULED)).all():
            self._take(booking.tutor_id, booking.start_time, booking.end_time)
        count = self._students_lessons(student, own_tutor)
        count += self._business(others)
        self.db.flush()
        self.db.execute(transitions.complete_ended(self.now))
        return count

    def _user(self, email: str, name: str, zone: str, password_hash: str, *,
              role: str = Role.STUDENT, tutor_id: str | None = None) -> User:
        joined = self.now - timedelta(days=7 * (WEEKS_BACK + 6))
        user = User(email=email, name=name, timezone=zone, password_hash=password_hash,
                    email_verified=True, role=role, tutor_id=tutor_id, created_at=joined,
                    updated_at=joined)
        self.db.add(user)
        return user

    # -- the demo student ------------------------------------------------------------------

    def _students_lessons(self, student: User, own_tutor: Tutor) -> int:
        """The demo student's lessons: each kind the dashboard shows, several with the tutor
        the demo tutor account runs."""
        other = self.tutors[1 % len(self.tutors)]
        third = self.tutors[2 % len(self.tutors)]
        plan: list[tuple[Tutor, float, str]] = [
            (own_tutor, -18, "attended"),
            (other, -11, "attended"),
            (third, -8, "late_cancel"),  # canceled hours before: no refund due
            (own_tutor, -4, "attended"),
            (own_tutor, 0.5, "scheduled"),  # tomorrow or so: its reminder is due
            (own_tutor, 4, "tutor_cancel"),  # refunded in full
            (other, 6, "scheduled"),
            (third, 9, "student_cancel"),  # early enough for the policy's refund
            (own_tutor, 13, "scheduled"),
        ]
        count = 0
        for tutor, days, outcome in plan:
            lesson = self._plan(tutor, student, after=self.now + timedelta(days=days))
            if lesson is not None:
                self._write(lesson, outcome)
                count += 1
        return count

    # -- everybody else ----------------------------------------------------------------------

    def _business(self, students: Sequence[User]) -> int:
        """One to three lessons a week for every tutor, with the other demo students."""
        count = 0
        first_week = self.now - timedelta(weeks=WEEKS_BACK)
        for tutor in self.tutors:
            for week in range(WEEKS_BACK + WEEKS_AHEAD):
                week_start = first_week + timedelta(weeks=week)
                for _ in range(self.rng.randint(1, 3)):
                    student = self.rng.choice(students)
                    offset = timedelta(hours=self.rng.randint(0, 6 * 24))
                    lesson = self._plan(tutor, student, after=week_start + offset,
                                        within=week_start + timedelta(weeks=1))
                    if lesson is None:
                        continue
                    roll = self.rng.random()
                    past = lesson.start < self.now
                    outcome = ("student_cancel" if roll < 0.08
                               else "no_show" if past and roll < 0.15
                               else "attended" if past else "scheduled")
                    self._write(lesson, outcome)
                    count += 1
        return count

    # -- planning --------------------------------------------------------------------------

    def _plan(self, tutor: Tutor, student: User, *, after: datetime,
              within: datetime | None = None) -> _Lesson | None:
        """A free start of `tutor` from `after` on (before `within`, else in the next week),
        picked at random among the first few; None when there is none."""
        minutes = self._length(tutor)
        end = within or after + timedelta(weeks=1)
        starts = availability.free_slots(
            weekly_hours=tutor.weekly_hours, tutor_tz=tutor.timezone,
            duration=timedelta(minutes=minutes), busy=(), now=after,
            notice=timedelta(0), horizon=end - after,
        )
        length = timedelta(minutes=minutes)
        buffer = timedelta(minutes=tutor.buffer_minutes)
        zone = student.timezone or timefmt.DEFAULT_ZONE
        free = [
            s for s in starts
            if timefmt.local(s, zone).hour in _STUDENT_HOURS
            and not (self.now - _QUIET_BEFORE - length < s < self.now + _QUIET_AFTER)
            and self._free(tutor.id, s - buffer, s + length + buffer)
            and self._free(student.id, s, s + length)
        ]
        if not free:
            return None
        start = self.rng.choice(free[:6])
        self._take(tutor.id, start, start + length)
        self._take(student.id, start, start + length)
        return _Lesson(tutor=tutor, student=student, start=start, minutes=minutes)

    def _length(self, tutor: Tutor) -> int:
        offered = [m for m in tutor.lesson_durations if m in pricing.ALLOWED_DURATIONS]
        return self.rng.choice(offered) if offered else 60

    def _free(self, key: str, start: datetime, end: datetime) -> bool:
        return all(end <= s or e <= start for s, e in self.busy.get(key, []))

    def _take(self, key: str, start: datetime, end: datetime) -> None:
        self.busy.setdefault(key, []).append((start, end))

    # -- writing ---------------------------------------------------------------------------

    def _write(self, lesson: _Lesson, outcome: str) -> Booking:
        """The booking as the webhook would have made it, then what happened to it."""
        tutor, start = lesson.tutor, lesson.start
        quote = pricing.quote(tutor_id=tutor.id, hourly_rate_cents=tutor.hourly_rate_cents,
                              currency=tutor.currency, duration_minutes=lesson.minutes)
        lead = timedelta(days=self.rng.randint(2, 12), minutes=self.rng.randint(0, 600))
        booked_at = min(start - lead, self.now - _SETTLED)
        token = secrets.token_hex(16)
        booking = Booking(
            user_id=lesson.student.id, tutor_id=tutor.id, start_time=start,
            end_time=start + timedelta(minutes=lesson.minutes), price_cents=quote.total_cents,
            currency=quote.currency,
            stripe_checkout_session_id=DEV_CHECKOUT_SESSION_PREFIX + token,
            stripe_payment_intent_id="pi_dev_" + token,
            customer_email=lesson.student.email,
            note=self.rng.choice(_NOTES) if self.rng.random() < 0.3 else "",
            created_at=booked_at, updated_at=booked_at,
            **transitions.new_booking_values(canceled_reason=None, now=booked_at),
        )
        self.db.add(booking)
        self.db.flush()
        if outcome == "student_cancel":
            at = booked_at + timedelta(hours=self.rng.randint(1, 18))
            refund = policy_refund_cents(booking, at)
            transitions.cancel(booking, reason=transitions.STUDENT_CANCELED_REASON, now=at)
            self._refund(booking, refund, transitions.STUDENT_CANCELED_REASON, at)
        elif outcome == "tutor_cancel":
            at = booked_at + timedelta(hours=self.rng.randint(1, 18))
            transitions.cancel(booking, reason=transitions.TUTOR_CANCELED_REASON, now=at,
                               note=_TUTOR_CANCEL_NOTE)
            self._refund(booking, booking.price_cents, transitions.TUTOR_CANCELED_REASON, at)
        elif outcome == "late_cancel":
            at = start - timedelta(hours=3)
            refund = policy_refund_cents(booking, at)
            transitions.cancel(booking, reason=transitions.STUDENT_CANCELED_REASON, now=at)
            self._refund(booking, refund, transitions.STUDENT_CANCELED_REASON, at)
        elif outcome in ("attended", "no_show"):
            transitions.mark_attendance(
                booking, attendance=transitions.ATTENDED if outcome == "attended"
                else transitions.NO_SHOW, now=booking.end_time,
            )
        self.db.add(booking)
        return booking

    def _refund(self, booking: Booking, amount: int, reason: str, at: datetime) -> None:
        """A dev refund, as `refunds` records one when there is no Stripe: `re_dev_<id>`."""
        if amount <= 0:
            return
        self.db.add(Refund(
            booking_id=booking.id, stripe_refund_id=f"{refunds.DEV_REFUND_PREFIX}{booking.id}",
            amount_cents=amount, currency=booking.currency, reason=reason, created_at=at,
        ))
        transitions.record_refunded(booking, refunded_cents=amount, now=at)
