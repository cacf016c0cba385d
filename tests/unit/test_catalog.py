"""The tutor catalog: the data file is validated, the seed loads it into an empty table only,
and the directory lists only tutors whose profile is complete."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, delete, select

from tests.pinned_time import TEST_CATALOG_FILE
from tutor_app.catalog.tutor_catalog import (
    DAYS,
    CatalogError,
    SeedResult,
    all_subjects,
    get_tutor,
    lesson_lengths,
    list_tutors,
    load_catalog,
    seed_catalog,
    taking_bookings,
)
from tutor_app.core import clock
from tutor_app.core.models import Tutor, TutorDateOverride
from tutor_app.core.settings import PRODUCT_CATALOG_FILE, Settings, get_settings

ENTRY: dict[str, Any] = {
    "id": "test-tutor",
    "name": "Test Tutor",
    "photo_url": "/avatars/test.svg",
    "subjects": ["Algebra"],
    "hourly_rate_cents": 5000,
    "currency": "usd",
    "bio": "Teaches algebra.",
    "timezone": "Europe/Berlin",
    "weekly_hours": {"mon": [["09:00", "12:00"]]},
}


def _write(tmp_path: Path, entries: Any) -> Path:
    path = tmp_path / "tutors.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def _entry(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(ENTRY), **changes}


def _error(tmp_path: Path, entries: Any) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(tmp_path, entries))
    return str(info.value)


# -- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PRODUCT_CATALOG_FILE, TEST_CATALOG_FILE],
                         ids=["product", "tests"])
def test_the_catalog_is_valid_and_complete(path: Path) -> None:
    tutors = load_catalog(path)

    assert len(tutors) >= 8
    ids = [tutor.id for tutor in tutors]
    assert len(set(ids)) == len(ids)
    for tutor in tutors:
        assert tutor.name and tutor.photo_url and tutor.bio and tutor.subjects
        assert tutor.hourly_rate_cents > 0
        ZoneInfo(tutor.timezone)
        assert tutor.weekly_hours
        for day, windows in tutor.weekly_hours.items():
            assert day in DAYS
            for start, end in windows:
                assert start < end


def test_the_product_catalog_is_the_default_and_tests_use_their_own() -> None:
    assert Settings.from_env({}).catalog_file == PRODUCT_CATALOG_FILE
    assert Settings.from_env({"CATALOG_FILE": "/srv/tutors.json"}).catalog_file == Path(
        "/srv/tutors.json")
    assert get_settings().catalog_file == TEST_CATALOG_FILE
    assert [t.id for t in load_catalog()] == [t.id for t in load_catalog(TEST_CATALOG_FILE)]


def test_a_good_entry_is_parsed_and_tidied(tmp_path: Path) -> None:
    entry = _entry(name="  Test Tutor ", subjects=[" Algebra "],
                   weekly_hours={"tue": [["14:00", "18:00"], ["08:00", "10:00"]]})

    (tutor,) = load_catalog(_write(tmp_path, [entry]))

    assert tutor.id == "test-tutor"
    assert tutor.name == "Test Tutor"
    assert tutor.subjects == ["Algebra"]
    assert tutor.weekly_hours == {"tue": [["08:00", "10:00"], ["14:00", "18:00"]]}
    assert tutor.active is True


def test_currency_defaults_to_usd(tmp_path: Path) -> None:
    entry = _entry()
    del entry["currency"]

    assert load_catalog(_write(tmp_path, [entry]))[0].currency == "usd"


def test_duplicate_ids_are_refused_by_name(tmp_path: Path) -> None:
    message = _error(tmp_path, [_entry(), _entry(name="Other")])

    assert "duplicate" in message
    assert "test-tutor" in message


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, [_entry(timezone="Mars/Olympus_Mons")])

    assert "time zone" in message
    assert "Mars/Olympus_Mons" in message


@pytest.mark.parametrize(
    "hours",
    [
        {"mon": [["25:00", "26:00"]]},  # not a time
        {"mon": [["12:00", "09:00"]]},  # ends before it starts
        {"mon": [["09:00", "09:00"]]},  # empty window
        {"mon": [["9:00", "12:00"]]},  # not HH:MM
        {"mon": [["09:00"]]},  # not a pair
        {"funday": [["09:00", "12:00"]]},  # no such day
        {"mon": "09:00-12:00"},  # not a list
        {},  # no hours at all
    ],
)
def test_bad_weekly_hours_are_refused(tmp_path: Path, hours: Any) -> None:
    message = _error(tmp_path, [_entry(weekly_hours=hours)])

    assert "test-tutor" in message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "Not An Id"}, "id"),
        ({"name": ""}, "name"),
        ({"subjects": []}, "subjects"),
        ({"hourly_rate_cents": 0}, "hourly_rate_cents"),
        ({"hourly_rate_cents": 49.5}, "hourly_rate_cents"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    assert field in _error(tmp_path, [_entry(**changes)])


@pytest.mark.parametrize("content", ["[]", "{}", "not json"])
def test_an_empty_or_unreadable_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tutors.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(CatalogError):
        load_catalog(path)


# -- seeding ---------------------------------------------------------------------------------


def _empty_tutors(session: Session) -> None:
    session.exec(delete(Tutor))
    session.commit()


def _snapshot(session: Session) -> dict[str, dict[str, Any]]:
    session.expire_all()
    rows = {t.id: t.model_dump() for t in session.exec(select(Tutor)).all()}
    session.commit()
    return rows


def test_seeding_an_empty_table_loads_the_file(session: Session) -> None:
    _empty_tutors(session)

    result = seed_catalog(session)
    session.commit()

    assert result == SeedResult(added=len(load_catalog()), skipped=False)
    rows = _snapshot(session)
    for entry in load_catalog():
        row = rows[entry.id]
        assert (row["name"], row["hourly_rate_cents"], row["weekly_hours"], row["active"]) == (
            entry.name, entry.hourly_rate_cents, entry.weekly_hours, True)
        # The file has no booking rules: the ones every tutor had before they could edit them.
        assert (row["lesson_durations"], row["buffer_minutes"], row["min_notice_minutes"],
                row["horizon_days"]) == ([30, 60, 90], 0, 720, 60)


def test_seeding_twice_changes_nothing_the_second_time(session: Session) -> None:
    before = _snapshot(session)

    result = seed_catalog(session)
    session.commit()

    assert result == SeedResult(added=0, skipped=True)
    assert _snapshot(session) == before
    assert len(before) == len(load_catalog())


def test_seeding_never_overwrites_what_tutors_saved(session: Session) -> None:
    edited = session.get(Tutor, "james-okafor")
    assert edited is not None
    edited.hourly_rate_cents = 7100
    edited.bio = "Saved by James himself."
    edited.weekly_hours = {"sat": [["10:00", "12:00"]]}
    session.add(edited)
    session.commit()
    before = _snapshot(session)
    # The file changed meanwhile: a new rate for James, a tutor gone, a new tutor.
    tutors = load_catalog()
    for tutor in tutors:
        if tutor.id == "james-okafor":
            tutor.hourly_rate_cents = 1
            tutor.bio = "From the file."
    gone = tutors.pop()
    extra = Tutor(**{**ENTRY, "active": True})

    result = seed_catalog(session, [*tutors, extra])
    session.commit()

    assert result == SeedResult(added=0, skipped=True)
    assert _snapshot(session) == before
    assert get_tutor(session, gone.id) is not None  # still listed: the database decides
    assert get_tutor(session, "test-tutor") is None


# -- reading ---------------------------------------------------------------------------------


def test_list_tutors_is_sorted_by_name(session: Session) -> None:
    names = [t.name for t in list_tutors(session)]

    assert names == sorted(names)
    assert len(names) == len(load_catalog())


def test_subject_filter_is_case_insensitive_and_exact(session: Session) -> None:
    spanish = {t.id for t in list_tutors(session, subject="  spanish ")}
    math = {t.id for t in list_tutors(session, subject="Mathematics")}

    assert spanish == {t.id for t in load_catalog() if "Spanish" in t.subjects}
    assert spanish  # the shipped catalog teaches Spanish
    assert math == {t.id for t in load_catalog() if "Mathematics" in t.subjects}
    assert "maria-garcia" in spanish and "maria-garcia" not in math
    assert list_tutors(session, subject="Span") == []  # a whole subject, not a substring
    assert list_tutors(session, subject="Klingon") == []


def test_all_subjects_lists_each_once_sorted(session: Session) -> None:
    subjects = all_subjects(session)

    assert subjects == sorted(set(subjects), key=str.casefold)
    assert {"Spanish", "Mathematics"} <= set(subjects)


# -- who is listed ---------------------------------------------------------------------------

AIKO = "aiko-tanaka"  # the only tutor teaching Japanese (Asia/Tokyo)


def _edit(session: Session, tutor_id: str = AIKO, **fields: Any) -> Tutor:
    tutor = session.get(Tutor, tutor_id)
    assert tutor is not None
    for name, value in fields.items():
        setattr(tutor, name, value)
    session.add(tutor)
    session.commit()
    return tutor


def _override(session: Session, *, days_from_today: int, windows: list[list[str]],
              tutor_id: str = AIKO) -> None:
    today = clock.now().astimezone(ZoneInfo("Asia/Tokyo")).date()  # Aiko's today
    session.add(TutorDateOverride(tutor_id=tutor_id, on_date=today + timedelta(days_from_today),
                                  windows=windows))
    session.commit()


def _listed(session: Session) -> bool:
    listed = AIKO in {t.id for t in list_tutors(session)}
    assert ("Japanese" in all_subjects(session)) is listed
    tutor = session.get(Tutor, AIKO)
    assert tutor is not None
    assert taking_bookings(session, tutor) is listed
    session.commit()
    return listed


def test_a_complete_profile_is_listed(session: Session) -> None:
    assert _listed(session)


@pytest.mark.parametrize(
    "fields",
    [
        {"weekly_hours": {}},
        {"weekly_hours": {"mon": [], "tue": []}},
        {"hourly_rate_cents": 0},
        {"lesson_durations": []},
        {"lesson_durations": [15, 75]},  # nothing the product sells
        {"active": False},
    ],
)
def test_an_incomplete_profile_is_not_listed(session: Session, fields: dict[str, Any]) -> None:
    _edit(session, **fields)

    assert not _listed(session)
    if fields != {"active": False}:
        assert get_tutor(session, AIKO) is not None  # the profile page still opens


@pytest.mark.parametrize(
    ("days_from_today", "windows", "listed"),
    [
        (0, [["10:00", "12:00"]], True),  # today, in the tutor's zone
        (30, [["10:00", "12:00"]], True),
        (-1, [["10:00", "12:00"]], False),  # past hours do not count
        (3, [], False),  # a day off is no hours
    ],
)
def test_without_weekly_hours_a_coming_date_with_hours_lists_the_tutor(
    session: Session, days_from_today: int, windows: list[list[str]], listed: bool
) -> None:
    _edit(session, weekly_hours={})
    _override(session, days_from_today=days_from_today, windows=windows)
    _override(session, days_from_today=days_from_today, windows=windows, tutor_id="james-okafor")

    assert _listed(session) is listed


def test_lesson_lengths_follow_the_products_order_and_ignore_unknown_ones(
    session: Session,
) -> None:
    tutor = _edit(session, lesson_durations=[120, 15, 45, 30])

    assert lesson_lengths(tutor) == (30, 45, 120)
