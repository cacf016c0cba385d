"""The tutor catalog: the `tutors` table, first filled from a seed file, and who is listed.

The database is the source of truth for tutors: tutors edit their own profiles there. The
catalog file (the CATALOG_FILE setting, by default `tutors.json` beside this module) is seed
data: `seed_catalog` (run by `prestart`) loads it into an empty table once and never touches
the table again, so nothing a tutor saved is overwritten by a deploy.

A tutor is listed in the directory and can be booked only while their profile is complete
(`taking_bookings`). Reads go through this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from tutor_app.catalog.pricing import ALLOWED_DURATIONS, CONSULTATION_MINUTES
from tutor_app.core import clock
from tutor_app.core.models import Tutor, TutorDateOverride
from tutor_app.core.settings import get_settings

FALLBACK_PHOTO = "/avatars/fallback.svg"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
NOT_TAKING_BOOKINGS = "This tutor is not taking bookings right now. Please choose another tutor."
LENGTHS_OFFERED = "This tutor offers lessons of {lengths} minutes."


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class SeedResult:
    """What a seed did: `added` tutors, or nothing because the table already had some."""

    added: int
    skipped: bool


def load_catalog(path: Path | None = None) -> list[Tutor]:
    """Read and validate the catalog file (default: the CATALOG_FILE setting) into (detached)
    Tutor rows."""
    path = get_settings().catalog_file if path is None else path
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, list) or not raw:
        raise CatalogError(f"{path} must hold a non-empty list of tutors")
    tutors = [_parse_entry(i, entry) for i, entry in enumerate(raw)]
    ids = [t.id for t in tutors]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogError(f"duplicate tutor ids: {', '.join(duplicates)}")
    return tutors


def _parse_entry(index: int, entry: Any) -> Tutor:
    where = f"tutor #{index}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where} must be an object")
    where = f"tutor {entry.get('id', index)!r}"
    for key in ("id", "name", "photo_url", "bio", "timezone"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise CatalogError(f"{where}: {key} must be a non-empty string")
    if not _ID.match(entry["id"]):
        raise CatalogError(f"{where}: id must be lowercase letters, digits and dashes")
    subjects = entry.get("subjects")
    if not isinstance(subjects, list) or not subjects or not all(
        isinstance(s, str) and s.strip() for s in subjects
    ):
        raise CatalogError(f"{where}: subjects must be a non-empty list of names")
    rate = entry.get("hourly_rate_cents")
    if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
        raise CatalogError(f"{where}: hourly_rate_cents must be a positive integer")
    currency = entry.get("currency", "usd")
    if not isinstance(currency, str) or not re.fullmatch(r"[a-z]{3}", currency):
        raise CatalogError(f"{where}: currency must be a lowercase ISO code like 'usd'")
    try:
        ZoneInfo(entry["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CatalogError(f"{where}: unknown time zone {entry['timezone']!r}") from exc
    return Tutor(
        id=entry["id"],
        name=entry["name"].strip(),
        photo_url=entry["photo_url"],
        subjects=[s.strip() for s in subjects],
        hourly_rate_cents=rate,
        currency=currency,
        bio=entry["bio"].strip(),
        timezone=entry["timezone"],
        weekly_hours=_parse_hours(where, entry.get("weekly_hours")),
        active=True,
    )


def _parse_hours(where: str, hours: Any) -> dict[str, list[list[str]]]:
    if not isinstance(hours, dict) or not hours:
        raise CatalogError(f"{where}: weekly_hours must map days to [start, end] windows")
    parsed: dict[str, list[list[str]]] = {}
    for day, windows in hours.items():
        if day not in DAYS:
            raise CatalogError(f"{where}: unknown day {day!r} in weekly_hours")
        if not isinstance(windows, list):
            raise CatalogError(f"{where}: weekly_hours[{day}] must be a list")
        for window in windows:
            if (
                not isinstance(window, list)
                or len(window) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in window)
                or window[0] >= window[1]
            ):
                raise CatalogError(f"{where}: weekly_hours[{day}] has a bad window {window!r}")
        parsed[day] = [list(w) for w in sorted(windows)]
    return parsed


def seed_catalog(db: Session, tutors: list[Tutor] | None = None) -> SeedResult:
    """Load the catalog file into an empty tutors table; with any tutor present, do nothing.

    Once tutors exist their rows belong to them (and to admins): the file is never read
    again, so running it twice, or after a tutor edited a profile, changes nothing. The
    caller commits.
    """
    if db.exec(select(Tutor.id).limit(1)).first() is not None:
        return SeedResult(added=0, skipped=True)
    tutors = load_catalog() if tutors is None else tutors
    for tutor in tutors:
        db.add(Tutor(**tutor.model_dump()))
    db.flush()
    return SeedResult(added=len(tutors), skipped=False)


def lesson_lengths(tutor: Tutor) -> tuple[int, ...]:
    """The lesson lengths (minutes) this tutor offers, ascending: their own choice among
    `pricing.ALLOWED_DURATIONS` (anything else stored is ignored)."""
    return tuple(m for m in ALLOWED_DURATIONS if m in tutor.lesson_durations)


def bookable_lengths(tutor: Tutor) -> tuple[int, ...]:
    """Every length a student may book with this tutor: the lesson lengths, and the free
    intro's `pricing.CONSULTATION_MINUTES` when the tutor offers one."""
    intro = (CONSULTATION_MINUTES,) if tutor.offers_consultation else ()
    return intro + lesson_lengths(tutor)


def lengths_offered_message(tutor: Tutor) -> str:
    """ "This tutor offers lessons of 30, 60, 90 minutes.": the refusal of any other length."""
    return LENGTHS_OFFERED.format(lengths=", ".join(map(str, lesson_lengths(tutor))))


def taking_bookings(db: Session, tutor: Tutor, *, now: datetime | None = None) -> bool:
    """Whether the tutor's profile is complete enough to be listed and booked.

    Active, a positive rate, at least one lesson length, and hours: weekly ones, or at least
    one date from today on (in the tutor's zone) with override hours.
    """
    return bool(_complete(db, [tutor], now or clock.now()))


def listed_ids(db: Session, tutors: Sequence[Tutor], *, now: datetime | None = None) -> set[str]:
    """The ids of `tutors` that `taking_bookings` accepts, in one query at most (the admin's
    list of every tutor)."""
    return {t.id for t in _complete(db, tutors, now or clock.now())}


def _complete(db: Session, tutors: Sequence[Tutor], now: datetime) -> list[Tutor]:
    """The tutors of `tutors` that `taking_bookings` accepts, in the same order.

    One query at most: the date overrides of the few tutors without weekly hours.
    """
    ready = [t for t in tutors if t.active and t.hourly_rate_cents > 0 and lesson_lengths(t)]
    need_dates = [t.id for t in ready if not any(t.weekly_hours.get(d) for d in DAYS)]
    dated: set[str] = set()
    if need_dates:
        # Any zone's "today" is at most a day either side of UTC's; exact below.
        rows = db.exec(
            select(col(TutorDateOverride.tutor_id), col(TutorDateOverride.on_date),
                   col(TutorDateOverride.windows))
            .where(col(TutorDateOverride.tutor_id).in_(need_dates),
                   col(TutorDateOverride.on_date) >= (now - timedelta(days=1)).date())
        ).all()
        zones = {t.id: t.timezone for t in ready}
        dated = {tid for tid, on_date, windows in rows
                 if windows and on_date >= _local_today(zones[tid], now)}
    return [t for t in ready if t.id not in need_dates or t.id in dated]


def _local_today(tz: str, now: datetime) -> date:
    try:
        return now.astimezone(ZoneInfo(tz)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.date()


def list_tutors(db: Session, subject: str | None = None) -> list[Tutor]:
    """The directory: tutors taking bookings (`taking_bookings`), by name, optionally only
    those teaching `subject` (case-insensitive)."""
    rows = db.exec(select(Tutor).where(col(Tutor.active)).order_by(col(Tutor.name))).all()
    if subject:
        wanted = subject.strip().casefold()
        rows = [t for t in rows if any(s.casefold() == wanted for s in t.subjects)]
    return _complete(db, rows, clock.now())


def all_subjects(db: Session) -> list[str]:
    """Every subject some listed tutor teaches, sorted, for the directory filter."""
    return sorted({s for t in list_tutors(db) for s in t.subjects}, key=str.casefold)


def get_tutor(db: Session, tutor_id: str, *, include_inactive: bool = False) -> Tutor | None:
    """One tutor by catalog id, or None when unknown (or hidden, unless asked for)."""
    tutor = db.get(Tutor, tutor_id)
    if tutor is None or (not tutor.active and not include_inactive):
        return None
    return tutor
