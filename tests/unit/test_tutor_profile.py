"""The profile a tutor edits: who may edit it, and every field's rule (nothing is saved while
any field is wrong)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_tutor_user
from tests.photos import photo_bytes
from tutor_app.core import clock
from tutor_app.core.models import Booking, BookingKind, BookingStatus, Tutor
from tutor_app.core.settings import Settings
from tutor_app.tutors import access, media, profile
from tutor_app.tutors.profile import ProfileForm, ProfileGone, ProfileInvalid

TUTOR_ID = "sofia-rossi"  # Europe/Rome


def _tutor(session: Session, tutor_id: str = TUTOR_ID) -> Tutor:
    session.expire_all()
    tutor = session.get(Tutor, tutor_id)
    assert tutor is not None
    session.commit()  # end the read: SQLite refuses a later write on a stale snapshot
    return tutor


def _form(**changes: Any) -> ProfileForm:
    base = ProfileForm(
        name="  Sofia   Rossi ", headline="Italian  for travellers and food lovers",
        bio="  Born in Rome.\n\nTeaching since 2015.  ", subjects=[" Italian ", "Latin"],
        hourly_rate="45.50", currency="EUR", lesson_durations=[60, 30, 45, 60],
        timezone="Europe/Rome", photo_url="/avatars/sofia-rossi.svg",
    )
    return dataclasses.replace(base, **changes)


def _save(session: Session, form: ProfileForm, tutor_id: str = TUTOR_ID) -> Tutor:
    tutor = profile.save_profile(session, tutor_id=tutor_id, form=form)
    session.commit()
    return tutor


@pytest.fixture
def photo_url(session: Session) -> str:
    """The catalog's photo of the tutor: the current one, kept by a save."""
    return _tutor(session).photo_url


# -- who may edit ----------------------------------------------------------------------------


def test_a_hidden_profile_is_still_its_tutor_s_to_edit(session: Session) -> None:
    tutor = _tutor(session)
    tutor.active = False
    session.add(tutor)
    session.commit()
    sofia = make_tutor_user(session, tutor_id=TUTOR_ID)

    assert access.tutor_for_user(session, sofia) is not None


# -- saving ----------------------------------------------------------------------------------


def test_a_valid_form_is_saved_tidied(session: Session, photo_url: str) -> None:
    before = _tutor(session).updated_at
    clock.shift_to(clock.now() + timedelta(minutes=5))

    _save(session, _form(photo_url=photo_url))

    tutor = _tutor(session)
    assert (tutor.name, tutor.headline) == ("Sofia Rossi", "Italian for travellers and food lovers")
    assert tutor.bio == "Born in Rome.\n\nTeaching since 2015."
    assert tutor.subjects == ["Italian", "Latin"]
    assert (tutor.hourly_rate_cents, tutor.currency) == (4550, "eur")
    assert tutor.lesson_durations == [30, 45, 60]
    assert tutor.timezone == "Europe/Rome"
    assert tutor.photo_url == photo_url
    assert tutor.updated_at > before


def test_the_form_starts_from_the_stored_profile(session: Session) -> None:
    tutor = _tutor(session)

    form = profile.form_for(tutor)

    assert form.name == tutor.name and form.subjects == tutor.subjects
    assert form.hourly_rate == profile.rate_text(tutor.hourly_rate_cents)
    assert profile.check_profile(form, current_photo_url=tutor.photo_url).errors == {}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "   "}, profile.NAME_FIELD, profile.NAME_MISSING),
        ({"name": "x" * 81}, profile.NAME_FIELD, profile.NAME_TOO_LONG),
        ({"headline": "x" * 121}, profile.HEADLINE_FIELD, profile.HEADLINE_TOO_LONG),
        ({"bio": "x" * 2001}, profile.BIO_FIELD, profile.BIO_TOO_LONG),
        ({"subjects": []}, profile.SUBJECTS_FIELD, profile.SUBJECTS_MISSING),
        ({"subjects": [" ", ""]}, profile.SUBJECTS_FIELD, profile.SUBJECTS_MISSING),
        ({"subjects": [f"S{i}" for i in range(9)]}, profile.SUBJECTS_FIELD,
         profile.TOO_MANY_SUBJECTS),
        ({"subjects": ["x" * 41]}, profile.SUBJECTS_FIELD, profile.SUBJECT_TOO_LONG),
        ({"subjects": ["Latin", "latin"]}, profile.SUBJECTS_FIELD, profile.SUBJECT_REPEATED),
        ({"hourly_rate": "forty"}, profile.RATE_FIELD, profile.RATE_NOT_A_NUMBER),
        ({"hourly_rate": "45.505"}, profile.RATE_FIELD, profile.RATE_NOT_A_NUMBER),
        ({"hourly_rate": "-5"}, profile.RATE_FIELD, profile.RATE_NOT_A_NUMBER),
        ({"hourly_rate": "0"}, profile.RATE_FIELD, profile.RATE_TOO_LOW),
        ({"hourly_rate": "0.99"}, profile.RATE_FIELD, profile.RATE_TOO_LOW),
        ({"hourly_rate": "500.01"}, profile.RATE_FIELD, profile.RATE_TOO_HIGH),
        ({"currency": "xyz"}, profile.CURRENCY_FIELD, profile.UNKNOWN_CURRENCY),
        ({"currency": "jpy"}, profile.CURRENCY_FIELD, profile.UNKNOWN_CURRENCY),
        ({"lesson_durations": []}, profile.DURATIONS_FIELD, profile.DURATIONS_MISSING),
        ({"lesson_durations": [60, 50]}, profile.DURATIONS_FIELD, profile.UNKNOWN_DURATION),
        ({"lesson_durations": [True]}, profile.DURATIONS_FIELD, profile.UNKNOWN_DURATION),
        ({"timezone": "Mars/Olympus"}, profile.TIMEZONE_FIELD, profile.UNKNOWN_ZONE),
        ({"timezone": "localtime"}, profile.TIMEZONE_FIELD, profile.UNKNOWN_ZONE),
        ({"photo_url": "/media/0123456789abcdef.webp"}, profile.PHOTO_FIELD,
         profile.PHOTO_GONE),
        ({"photo_url": "https://evil.example/x.png"}, profile.PHOTO_FIELD, profile.PHOTO_GONE),
    ],
)
def test_a_wrong_field_gets_its_message_and_nothing_is_saved(
    session: Session, photo_url: str, changes: dict[str, Any], field: str, message: str
) -> None:
    before = _tutor(session).model_dump()

    with pytest.raises(ProfileInvalid) as invalid:
        _save(session, _form(**{"photo_url": photo_url, **changes}))
    session.commit()  # even committed after the refusal, nothing was changed

    assert invalid.value.errors == {field: message}
    assert _tutor(session).model_dump() == before


def test_every_wrong_field_is_named_at_once(session: Session, photo_url: str) -> None:
    with pytest.raises(ProfileInvalid) as invalid:
        _save(session, _form(photo_url=photo_url, name="", hourly_rate="0", subjects=[],
                             timezone="Nowhere"))

    assert set(invalid.value.errors) == {
        profile.NAME_FIELD, profile.RATE_FIELD, profile.SUBJECTS_FIELD, profile.TIMEZONE_FIELD
    }


@pytest.mark.parametrize(
    ("text", "cents"),
    [("45", 4500), ("45.5", 4550), ("45,50", 4550), (" 1.00 ", 100), ("500", 50_000),
     ("", None), ("4 5", None), ("1e3", None), ("$45", None), ("45.", None)],
)
def test_rates_are_read_as_typed(text: str, cents: int | None) -> None:
    assert profile.parse_rate(text) == cents


def test_rates_are_shown_as_typed() -> None:
    assert [profile.rate_text(c) for c in (4500, 4550, 4505, 100)] == [
        "45", "45.50", "45.05", "1"
    ]


def test_a_newly_uploaded_photo_becomes_the_profile_s(
    session: Session, tmp_path: Path, configure: Callable[..., Settings]
) -> None:
    configure(MEDIA_DIR=str(tmp_path))
    url = media.store_photo(photo_bytes("JPEG", (700, 700)))

    _save(session, _form(photo_url=url))

    assert _tutor(session).photo_url == url


def test_a_profile_that_is_gone_cannot_be_saved(session: Session) -> None:
    with pytest.raises(ProfileGone):
        profile.save_profile(session, tutor_id="nobody", form=_form())


def test_the_free_intro_switch_offers_and_withdraws_without_touching_booked_ones(
    session: Session,
) -> None:
    booked = make_booking(session, start=clock.now() + timedelta(days=3), minutes=15,
                          tutor_id=TUTOR_ID, kind=BookingKind.CONSULTATION, price_cents=0)

    assert _save(session, _form(offers_consultation=True)).offers_consultation is True
    assert profile.form_for(_tutor(session)).offers_consultation is True

    assert _save(session, _form(offers_consultation=False)).offers_consultation is False
    session.expire_all()
    kept = session.get(Booking, booked.id)
    assert kept is not None and kept.status == BookingStatus.SCHEDULED
