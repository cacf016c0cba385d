"""The `/tutor/profile` page's handlers (`TutorProfileEditState`), driven without a browser."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import reflex as rx
from sqlmodel import Session, select

from tests.factories import make_tutor_user, session_cookie, signed_in_user
from tests.photos import photo_bytes
from tests.state.handlers import run, state_on
from tutor_app.admin import audit
from tutor_app.core.models import AuditEntry, Role, Tutor
from tutor_app.core.settings import Settings
from tutor_app.state.tutor_profile_edit import TutorProfileEditState
from tutor_app.tutors import media, profile

TUTOR_ID = "sofia-rossi"  # Europe/Rome, $42 an hour in the test catalog


def _tutor(session: Session, tutor_id: str = TUTOR_ID) -> Tutor:
    session.expire_all()
    tutor = session.get(Tutor, tutor_id)
    assert tutor is not None
    session.commit()
    return tutor


def _page(cookie: str, url: str = "/tutor/profile") -> TutorProfileEditState:
    state = state_on(TutorProfileEditState, url, cookie=cookie, route="/tutor/profile")
    assert run(state.load()) is None
    assert state.loaded
    return state


def _tutor_page(session: Session) -> TutorProfileEditState:
    sofia = make_tutor_user(session, tutor_id=TUTOR_ID)
    return _page(session_cookie(session, sofia))


def _upload(data: bytes, name: str = "me.png") -> list[rx.UploadFile]:
    return [rx.UploadFile(file=io.BytesIO(data), path=Path(name), size=len(data))]


@pytest.fixture
def media_dir(tmp_path: Path, configure: Callable[..., Settings]) -> Path:
    configure(MEDIA_DIR=str(tmp_path))
    return tmp_path


def test_the_tutor_finds_their_profile_in_the_form_and_in_the_preview(session: Session) -> None:
    tutor = _tutor(session)

    state = _tutor_page(session)

    assert state.found and state.tutor_id == TUTOR_ID
    assert (state.name, state.bio, state.subjects) == (tutor.name, tutor.bio, tutor.subjects)
    assert state.hourly_rate == profile.rate_text(tutor.hourly_rate_cents)
    assert (state.currency, state.timezone) == (tutor.currency, tutor.timezone)
    assert state.durations == sorted(tutor.lesson_durations)
    assert any(o["value"] == "Europe/Rome" for o in state.zone_options)
    assert "Mathematics" in state.subject_suggestions
    assert state.preview["name"] == tutor.name and state.preview["id"] == TUTOR_ID
    assert state.public_url == f"/tutors/{TUTOR_ID}"


def test_the_preview_follows_the_typing_before_anything_is_saved(session: Session) -> None:
    state = _tutor_page(session)

    state.set_headline("Italian for travellers")
    state.set_hourly_rate("55.5")
    state.set_currency("gbp")
    state.set_subject_draft("  Art   history ")
    state.add_subject()

    assert state.preview["headline"] == "Italian for travellers"
    assert state.preview["rate"] == "£55.50/hour"
    assert state.preview["subjects"][-1] == "Art history"
    assert state.headline_count == "22/120"
    state.set_hourly_rate("fifty")
    assert state.preview["rate"] == "\u2014/hour"
    assert _tutor(session).headline == ""  # nothing stored yet


def test_students_and_other_tutors_find_nothing_here(session: Session) -> None:
    _student, student_cookie = signed_in_user(session, email="ann@example.com")
    james = make_tutor_user(session, tutor_id="james-okafor")

    student = _page(student_cookie)
    other = _page(session_cookie(session, james), f"/tutor/profile?tutor={TUTOR_ID}")

    assert not student.found and student.name == ""
    assert not other.found and other.tutor_id == ""


def test_an_admin_edits_the_tutor_named_in_the_address(session: Session) -> None:
    _admin, cookie = signed_in_user(session, email="admin@example.com", role=Role.ADMIN)

    state = _page(cookie, f"/tutor/profile?tutor={TUTOR_ID}")

    assert state.found and state.tutor_id == TUTOR_ID
    assert state.admin_editing


def test_an_admins_save_needs_a_reason_and_is_audited(session: Session) -> None:
    admin, cookie = signed_in_user(session, email="admin@example.com", role=Role.ADMIN)
    state = _page(cookie, f"/tutor/profile?tutor={TUTOR_ID}")
    old_name = state.name
    state.set_name("Sofia R.")

    assert run(state.save()) is None
    assert state.reason_error == audit.REASON_REQUIRED and state.notice == ""
    assert _tutor(session).name == old_name

    state.set_edit_reason("Her new surname, by email")
    run(state.save())

    assert state.notice == profile.PROFILE_SAVED and _tutor(session).name == "Sofia R."
    [entry] = session.exec(select(AuditEntry)).all()
    assert (entry.actor_id, entry.action, entry.target_id, entry.reason) == (
        admin.id, "tutor.profile", TUTOR_ID, "Her new surname, by email")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["name"], entry.after["name"]) == (old_name, "Sofia R.")


def test_a_signed_out_visitor_is_sent_to_sign_in(database: Any) -> None:
    state = state_on(TutorProfileEditState, "/tutor/profile", route="/tutor/profile")

    event = run(state.load())

    assert event is not None and "/login?next=%2Ftutor%2Fprofile" in str(event)
    assert not state.found


def test_saving_stores_every_field_and_says_so(session: Session) -> None:
    state = _tutor_page(session)
    state.set_name("Sofia  Rossi-Bianchi")
    state.set_headline("Italian for travellers")
    state.set_bio("Ciao!")
    state.remove_subject(state.subjects[0])
    state.set_subject_draft("Latin")
    state.subject_key("Enter")
    state.set_hourly_rate("52.50")
    state.set_currency("eur")
    state.set_duration(45, True)
    state.set_duration(90, False)
    state.set_timezone("Europe/London")

    assert run(state.save()) is None

    tutor = _tutor(session)
    assert state.notice == profile.PROFILE_SAVED
    assert (tutor.name, tutor.headline, tutor.bio) == (
        "Sofia Rossi-Bianchi", "Italian for travellers", "Ciao!"
    )
    assert tutor.subjects[-1] == "Latin" and tutor.hourly_rate_cents == 5250
    assert tutor.lesson_durations == [30, 45, 60]
    assert tutor.timezone == "Europe/London"
    assert state.name == "Sofia Rossi-Bianchi"  # the form shows what was stored
    assert session.exec(select(AuditEntry)).all() == []  # a tutor's own edit is not audited


def test_wrong_fields_are_named_beside_each_field_and_nothing_is_stored(
    session: Session,
) -> None:
    before = _tutor(session).model_dump()
    state = _tutor_page(session)
    state.set_name(" ")
    state.set_headline("x" * 121)
    state.set_hourly_rate("0")
    for minutes in list(state.durations):
        state.set_duration(minutes, False)
    state.set_timezone("Atlantis/Capital")

    run(state.save())

    assert state.name_error == profile.NAME_MISSING
    assert state.headline_error == profile.HEADLINE_TOO_LONG
    assert state.rate_error == profile.RATE_TOO_LOW
    assert state.durations_error == profile.DURATIONS_MISSING
    assert state.timezone_error == profile.UNKNOWN_ZONE
    assert state.bio_error == state.subjects_error == state.currency_error == ""
    assert state.notice == ""
    assert _tutor(session).model_dump() == before
    state.set_name("Sofia")
    assert state.name_error == ""  # typing clears the field's message


def test_subjects_are_added_once_and_at_most_eight(session: Session) -> None:
    state = _tutor_page(session)
    for subject in state.subjects:
        state.remove_subject(subject)

    for i in range(9):
        state.set_subject_draft(f"Subject {i}")
        state.add_subject()
    state.set_subject_draft("subject 0")
    state.add_subject()

    assert state.subjects == [f"Subject {i}" for i in range(8)]
    assert state.subjects_error == profile.TOO_MANY_SUBJECTS


def test_a_photo_is_reencoded_shown_and_saved_with_the_profile(
    session: Session, media_dir: Path
) -> None:
    state = _tutor_page(session)

    run(state.upload_photo(_upload(photo_bytes("PNG", (1200, 900)))))

    assert state.photo_error == "" and not state.uploading
    assert state.photo_url.startswith("/media/") and state.photo_url.endswith(".webp")
    assert state.preview["photo_url"] == state.photo_url
    assert (media_dir / state.photo_url.removeprefix("/media/")).is_file()
    assert _tutor(session).photo_url != state.photo_url  # not the profile's until saved

    run(state.save())

    assert _tutor(session).photo_url == state.photo_url


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a not really", media.PHOTO_WRONG_TYPE),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * media.MAX_PHOTO_BYTES, media.PHOTO_TOO_LARGE),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_beside_the_field(
    session: Session, media_dir: Path, data: bytes, message: str
) -> None:
    state = _tutor_page(session)
    photo_before = state.photo_url

    run(state.upload_photo(_upload(data)))

    assert state.photo_error == message
    assert state.photo_url == photo_before
    assert list(media_dir.iterdir()) == []


def test_the_browser_refusing_a_file_says_why(session: Session) -> None:
    state = _tutor_page(session)

    state.photo_rejected([{"file": {"path": "huge.tiff"}, "errors": []}])

    assert state.photo_error == media.PHOTO_NOT_ACCEPTED


def test_a_tutor_no_longer_running_the_profile_saves_nothing(session: Session) -> None:
    sofia = make_tutor_user(session, tutor_id=TUTOR_ID)
    state = _page(session_cookie(session, sofia))
    sofia.role = Role.STUDENT
    session.add(sofia)
    session.commit()
    before = _tutor(session).model_dump()
    state.set_headline("Hijacked")

    run(state.save())

    assert not state.found and state.notice == ""
    assert _tutor(session).model_dump() == before


def test_only_who_runs_the_profile_may_upload_to_it(session: Session, media_dir: Path) -> None:
    sofia = make_tutor_user(session, tutor_id=TUTOR_ID)
    state = _page(session_cookie(session, sofia))
    sofia.tutor_id = None
    session.add(sofia)
    session.commit()

    run(state.upload_photo(_upload(photo_bytes("PNG", (300, 300)))))

    assert not state.found
    assert list(media_dir.iterdir()) == []
