"""The admin's tutors: every profile (listed or not, and what it still lacks), a new profile,
an invitation, deactivating and reactivating.

A deactivated tutor (`Tutor.active` False) is hidden from the directory and the booking
wizard (`catalog.tutor_catalog.get_tutor` / `taking_bookings`); the lessons already booked
stay as they are and are flagged for follow-up: `follow_up_lessons` lists the upcoming
scheduled lessons of inactive tutors, which the admin then moves or cancels through the
booking services. Invitations go through `tutors.invites.invite_tutor` (the one way to
invite); a new profile is `tutors.invites.new_profile`'s, empty until edited on the tutor
portal's pages (`/tutor/profile?tutor=<id>`, the same validation as the tutor's own).

Every action needs a reason and writes its audit entry in the caller's transaction. No Reflex.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.accounts import account_settings, users
from tutor_app.admin import access, audit
from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingStatus, Tutor, TutorDateOverride, User
from tutor_app.tutors import invites, profile

_T = TypeVar("_T")

NO_SUCH_TUTOR = "There is no such tutor profile."
ALREADY_INACTIVE = "This tutor is already deactivated."
ALREADY_ACTIVE = "This tutor is already active."
NAME_MISSING = profile.NAME_MISSING
NAME_TOO_LONG = profile.NAME_TOO_LONG
UNKNOWN_ZONE = profile.UNKNOWN_ZONE
# What a profile still lacks before students can find it (see `TutorRow.missing`).
MISSING_RATE = "rate"
MISSING_HOURS = "hours"
MISSING_LENGTHS = "lesson lengths"


class AdminTutorError(ValueError):
    """A tutor action refused; `field` is the form field to blame ("" for the whole form)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class TutorRow:
    """One tutor on the admin's list."""

    tutor: Tutor
    listed: bool  # students find and book them now (`taking_bookings`)
    missing: list[str]  # what the profile lacks: MISSING_RATE, MISSING_HOURS, MISSING_LENGTHS
    accounts: list[str]  # emails of the accounts running the profile
    follow_up: int  # upcoming scheduled lessons while deactivated


def tutor_rows(db: Session, *, now: datetime | None = None) -> list[TutorRow]:
    """Every tutor profile, active or not, by name: a handful of queries for the whole list."""
    now = now or clock.now()
    tutors = list(db.exec(select(Tutor).order_by(col(Tutor.name), col(Tutor.id))).all())
    listed = tutor_catalog.listed_ids(db, tutors, now=now)
    dated = {
        tutor_id for tutor_id, windows in db.exec(
            select(col(TutorDateOverride.tutor_id), col(TutorDateOverride.windows))
            .where(col(TutorDateOverride.on_date) >= now.date())
        ).all() if windows
    }
    runners: dict[str, list[str]] = {}
    for tutor_id, email in db.exec(
        select(col(User.tutor_id), col(User.email)).where(
            col(User.tutor_id).is_not(None), col(User.deleted_at).is_(None)
        ).order_by(col(User.created_at))
    ).all():
        runners.setdefault(str(tutor_id), []).append(email)
    follow_ups = _follow_up_counts(db, [t.id for t in tutors if not t.active], now)
    return [
        TutorRow(tutor=t, listed=t.id in listed, missing=_missing(t, t.id in dated),
                 accounts=runners.get(t.id, []), follow_up=follow_ups.get(t.id, 0))
        for t in tutors
    ]


def _missing(tutor: Tutor, has_dated_hours: bool) -> list[str]:
    missing = []
    if tutor.hourly_rate_cents <= 0:
        missing.append(MISSING_RATE)
    if not any(tutor.weekly_hours.get(day) for day in tutor_catalog.DAYS) and not has_dated_hours:
        missing.append(MISSING_HOURS)
    if not tutor_catalog.lesson_lengths(tutor):
        missing.append(MISSING_LENGTHS)
    return missing


def _upcoming(now: datetime) -> Any:
    return sa.and_(col(Booking.status) == BookingStatus.SCHEDULED, col(Booking.end_time) > now)


def _follow_up_counts(db: Session, tutor_ids: Sequence[str], now: datetime) -> dict[str, int]:
    if not tutor_ids:
        return {}
    rows = db.exec(
        select(col(Booking.tutor_id), sa.func.count())
        .where(col(Booking.tutor_id).in_(tutor_ids), _upcoming(now))
        .group_by(col(Booking.tutor_id))
    ).all()
    return {str(tutor_id): int(count) for tutor_id, count in rows}


def follow_up_lessons(db: Session, *, tutor_id: str | None = None,
                      now: datetime | None = None) -> list[Booking]:
    """The upcoming scheduled lessons of deactivated tutors (of `tutor_id` only, when given),
    soonest first: they need someone to move or cancel them."""
    now = now or clock.now()
    query = (
        select(Booking).join(Tutor, col(Tutor.id) == col(Booking.tutor_id))
        .where(sa.not_(col(Tutor.active)), _upcoming(now))
    )
    if tutor_id is not None:
        query = query.where(col(Booking.tutor_id) == tutor_id)
    return list(db.exec(query.order_by(col(Booking.start_time), col(Booking.id))).all())


def snapshot(tutor: Tutor) -> dict[str, Any]:
    """What the audit log keeps of a profile before and after an action."""
    return {"name": tutor.name, "active": tutor.active, "timezone": tutor.timezone}


def create_tutor(db: Session, *, actor: User, name: str, timezone: str, reason: str,
                 now: datetime | None = None) -> Tutor:
    """A new, empty tutor profile (hidden until it has a rate, lengths and hours); its id is
    made from the name. AdminTutorError for a missing or long name or an unknown zone.
    Caller commits."""
    access.admin_user(actor)
    reason = audit.clean_reason(reason)
    clean_name = " ".join(name.split())
    if not clean_name:
        raise AdminTutorError(NAME_MISSING, "name")
    if len(clean_name) > profile.MAX_NAME_LENGTH:
        raise AdminTutorError(NAME_TOO_LONG, "name")
    if not account_settings.is_selectable_zone(timezone):
        raise AdminTutorError(UNKNOWN_ZONE, "timezone")
    now = now or clock.now()
    tutor = invites.new_profile(db, name=clean_name, zone=timezone, now=now)
    audit.record(db, actor=actor, action="tutor.create", target_type="tutor",
                 target_id=tutor.id, reason=reason, after=snapshot(tutor), now=now)
    return tutor


def invite(db: Session, *, actor: User, email: str, tutor_id: str | None, reason: str,
           now: datetime | None = None) -> str:
    """Invite `email` to run the profile `tutor_id` (None: a new one) through
    `invites.invite_tutor`, which commits the invitation and this audit entry together and
    then mails the link; the link's token. Raises what `invite_tutor` raises (InviteError
    before anything is stored; InviteNotMailed after)."""
    access.admin_user(actor)
    reason = audit.clean_reason(reason)
    normalized = users.normalize_email(email)
    audit.record(db, actor=actor, action="tutor.invite", target_type="tutor",
                 target_id=tutor_id or "new", reason=reason,
                 after={"email": normalized, "tutor_id": tutor_id}, now=now)
    return invites.invite_tutor(db, email=email, tutor_id=tutor_id, invited_by=actor.id, now=now)


def set_active(db: Session, *, actor: User, tutor_id: str, active: bool, reason: str,
               now: datetime | None = None) -> Tutor:
    """Deactivate (hidden from the directory and the wizard; booked lessons stay, flagged for
    follow-up) or reactivate the profile. AdminTutorError for an unknown profile or one that
    is already so. Caller commits."""
    access.admin_user(actor)
    reason = audit.clean_reason(reason)
    now = now or clock.now()
    tutor = tutor_catalog.get_tutor(db, tutor_id, include_inactive=True)
    if tutor is None:
        raise AdminTutorError(NO_SUCH_TUTOR)
    if tutor.active == active:
        raise AdminTutorError(ALREADY_ACTIVE if active else ALREADY_INACTIVE)
    before = snapshot(tutor)
    tutor.active = active
    tutor.updated_at = now
    db.add(tutor)
    db.flush()
    after = snapshot(tutor)
    if not active:
        after["lessons_to_follow_up"] = _follow_up_counts(db, [tutor.id], now).get(tutor.id, 0)
    audit.record(db, actor=actor, action="tutor.reactivate" if active else "tutor.deactivate",
                 target_type="tutor", target_id=tutor.id, reason=reason, before=before,
                 after=after, now=now)
    return tutor


def acts_for_another(user: User, tutor: Tutor) -> bool:
    """True when `user` edits a tutor's pages as an admin (not their own profile): then every
    save needs a reason and goes into the audit log (`edit_as_admin`)."""
    return access.is_admin(user) and user.tutor_id != tutor.id


def profile_snapshot(tutor: Tutor) -> dict[str, Any]:
    """The profile's fields, for the audit log's before and after."""
    return {
        "name": tutor.name, "headline": tutor.headline, "bio": tutor.bio,
        "subjects": list(tutor.subjects), "hourly_rate_cents": tutor.hourly_rate_cents,
        "currency": tutor.currency, "lesson_durations": list(tutor.lesson_durations),
        "timezone": tutor.timezone, "photo_url": tutor.photo_url,
        "offers_consultation": tutor.offers_consultation,
    }


def hours_snapshot(db: Session, tutor: Tutor) -> dict[str, Any]:
    """The hours and booking rules, and the date overrides from today on, for the audit log."""
    db.refresh(tutor)
    overrides = db.exec(
        select(TutorDateOverride).where(col(TutorDateOverride.tutor_id) == tutor.id)
        .order_by(col(TutorDateOverride.on_date))
    ).all()
    return {
        "weekly_hours": dict(tutor.weekly_hours), "buffer_minutes": tutor.buffer_minutes,
        "min_notice_minutes": tutor.min_notice_minutes, "horizon_days": tutor.horizon_days,
        "overrides": {o.on_date.isoformat(): [list(w) for w in o.windows] for o in overrides},
    }


def edit_as_admin(
    db: Session, *, actor: User, tutor: Tutor, action: str, reason: str,
    snapshot: Callable[[], dict[str, Any]], change: Callable[[], _T],
) -> _T:
    """`change()` made by an admin on a tutor's pages, with its audit entry (the reason, the
    `snapshot()` before and after) in the same transaction; ReasonRequired (nothing changed)
    without a reason. The caller commits."""
    reason = audit.clean_reason(reason)
    before = snapshot()
    result = change()
    db.flush()
    audit.record(db, actor=actor, action=action, target_type="tutor", target_id=tutor.id,
                 reason=reason, before=before, after=snapshot())
    return result
