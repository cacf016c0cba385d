"""The tutor catalog: one data file, loaded into the `tutors` table by an idempotent seed.

The catalog file (the CATALOG_FILE setting, by default `tutors.json` beside this module) is the
single source of truth for who teaches what; the table is a copy the queries join against.
Reads go through this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from tutor_app.core import clock
from tutor_app.core.models import Tutor
from tutor_app.core.settings import get_settings

FALLBACK_PHOTO = "/avatars/fallback.svg"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class SeedResult:
    added: int
    updated: int
    deactivated: int


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


_FIELDS = ("name", "photo_url", "subjects", "hourly_rate_cents", "currency", "bio", "timezone",
           "weekly_hours", "active")


def seed_catalog(db: Session, tutors: list[Tutor] | None = None) -> SeedResult:
    """Make the tutors table match the catalog: add, update, and hide removed tutors.

    Removed tutors are deactivated rather than deleted, because bookings keep their id.
    Running it twice changes nothing the second time. The caller commits.
    """
    tutors = load_catalog() if tutors is None else tutors
    existing = {t.id: t for t in db.exec(select(Tutor)).all()}
    added = updated = deactivated = 0
    for tutor in tutors:
        row = existing.pop(tutor.id, None)
        if row is None:
            db.add(Tutor(**{f: getattr(tutor, f) for f in ("id", *_FIELDS)}))
            added += 1
            continue
        changes = {f: getattr(tutor, f) for f in _FIELDS if getattr(row, f) != getattr(tutor, f)}
        if changes:
            for field, value in changes.items():
                setattr(row, field, value)
            row.updated_at = clock.now()
            updated += 1
    for row in existing.values():
        if row.active:
            row.active = False
            row.updated_at = clock.now()
            deactivated += 1
    db.flush()
    return SeedResult(added=added, updated=updated, deactivated=deactivated)


def list_tutors(db: Session, subject: str | None = None) -> list[Tutor]:
    """Active tutors by name, optionally only those teaching `subject` (case-insensitive)."""
    rows = db.exec(select(Tutor).where(col(Tutor.active)).order_by(col(Tutor.name))).all()
    if subject:
        wanted = subject.strip().casefold()
        rows = [t for t in rows if any(s.casefold() == wanted for s in t.subjects)]
    return list(rows)


def all_subjects(db: Session) -> list[str]:
    """Every subject some active tutor teaches, sorted, for the directory filter."""
    return sorted({s for t in list_tutors(db) for s in t.subjects}, key=str.casefold)


def get_tutor(db: Session, tutor_id: str, *, include_inactive: bool = False) -> Tutor | None:
    """One tutor by catalog id, or None when unknown (or hidden, unless asked for)."""
    tutor = db.get(Tutor, tutor_id)
    if tutor is None or (not tutor.active and not include_inactive):
        return None
    return tutor
