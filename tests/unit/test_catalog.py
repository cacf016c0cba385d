"""The tutor catalog: the data file is validated, and the seed makes the table match it."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from tests.pinned_time import TEST_CATALOG_FILE
from tutor_app.catalog.tutor_catalog import (
    DAYS,
    CatalogError,
    SeedResult,
    all_subjects,
    get_tutor,
    list_tutors,
    load_catalog,
    seed_catalog,
)
from tutor_app.core import clock
from tutor_app.core.models import Booking, Tutor
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


def test_seeding_twice_changes_nothing_the_second_time(session: Session) -> None:
    before = {t.id: t.updated_at for t in session.exec(select(Tutor)).all()}

    result = seed_catalog(session)
    session.commit()

    assert result == SeedResult(added=0, updated=0, deactivated=0)
    after = {t.id: t.updated_at for t in session.exec(select(Tutor)).all()}
    assert after == before
    assert len(after) == len(load_catalog())


def test_seeding_applies_changes_from_the_file(session: Session) -> None:
    tutors = load_catalog()
    tutors[0].hourly_rate_cents += 500
    tutors[0].bio = "A new bio."

    result = seed_catalog(session, tutors)
    session.commit()

    assert result == SeedResult(added=0, updated=1, deactivated=0)
    row = session.get(Tutor, tutors[0].id)
    assert row is not None
    assert row.bio == "A new bio."
    assert row.hourly_rate_cents == tutors[0].hourly_rate_cents


def test_a_removed_tutor_is_hidden_not_deleted(session: Session) -> None:
    tutors = load_catalog()
    gone = tutors.pop()
    now = clock.now()
    session.add(Booking(tutor_id=gone.id, start_time=now, end_time=now + timedelta(days=365),
                        price_cents=1000, stripe_checkout_session_id="cs_test_gone"))
    session.commit()

    result = seed_catalog(session, tutors)
    session.commit()

    assert result.deactivated == 1
    row = session.get(Tutor, gone.id)
    assert row is not None and row.active is False  # its bookings still find it
    assert get_tutor(session, gone.id) is None
    assert get_tutor(session, gone.id, include_inactive=True) is not None
    assert gone.id not in {t.id for t in list_tutors(session)}


def test_a_tutor_back_in_the_file_is_shown_again(session: Session) -> None:
    tutors = load_catalog()
    seed_catalog(session, tutors[:-1])
    session.commit()

    result = seed_catalog(session, tutors)
    session.commit()

    assert result.updated == 1
    assert get_tutor(session, tutors[-1].id) is not None


def test_a_new_tutor_is_added(session: Session) -> None:
    new = load_catalog()
    extra = Tutor(**{**ENTRY, "active": True})

    result = seed_catalog(session, [*new, extra])
    session.commit()

    assert result == SeedResult(added=1, updated=0, deactivated=0)
    assert get_tutor(session, "test-tutor") is not None


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
