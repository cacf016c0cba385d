"""Helpers that give a tutor the rules a tutor sets in the portal: booking rules on the tutor
row (buffer, notice, horizon, lesson lengths, rate, hours) and date overrides.

Each write runs in its own write transaction (`BEGIN IMMEDIATE` on SQLite), not in the test's
db session: a booking's follow-ups may have committed meanwhile, and SQLite in WAL mode refuses
a write in a transaction whose read snapshot went stale. The test's db session then ends its
read, so it sees the change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tests.factories import TUTOR
from tutor_app.core import db as app_db
from tutor_app.core.models import Tutor, TutorDateOverride


def set_rules(db: Session, tutor_id: str = TUTOR, **fields: Any) -> None:
    """Change columns of the tutor's row (e.g. `buffer_minutes=15`)."""
    with app_db.write_session() as writer:
        tutor = writer.get(Tutor, tutor_id)
        assert tutor is not None, tutor_id
        for name, value in fields.items():
            assert hasattr(tutor, name), name
            setattr(tutor, name, value)
        writer.add(tutor)
        writer.commit()
    _refresh(db)


def add_override(db: Session, on_date: date, windows: list[list[str]], *,
                 tutor_id: str = TUTOR, note: str = "") -> None:
    """A date override: `windows` replace that local date's hours ([] = off)."""
    with app_db.write_session() as writer:
        writer.add(TutorDateOverride(tutor_id=tutor_id, on_date=on_date, windows=windows,
                                     note=note))
        writer.commit()
    _refresh(db)


def local_date(instant: datetime, tutor_id: str = TUTOR, *, db: Session) -> date:
    """The date `instant` falls on in the tutor's own zone."""
    tutor = db.get(Tutor, tutor_id)
    assert tutor is not None, tutor_id
    zone = tutor.timezone
    db.commit()
    return instant.astimezone(ZoneInfo(zone)).date()


def _refresh(db: Session) -> None:
    db.commit()  # end the read snapshot
    db.expire_all()
