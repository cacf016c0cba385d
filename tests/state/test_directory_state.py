"""The directory and profile states' handlers, driven without a browser.

Reflex 0.10.1 lets a state be built directly under pytest (`State(_reflex_internal_init=True)`
builds the whole tree); the router data is set on the root the way the websocket handler sets
it, so the handlers read the same `router.url` they read in the running app.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from reflex.istate.data import RouterData
from reflex_base.constants import RouteVar
from sqlmodel import Session

from tests.schedule_helpers import set_rules
from tests.state.handlers import ORIGIN, run, state_on
from tutor_app.core.models import Tutor
from tutor_app.state.directory import (
    ALL_SUBJECTS,
    DirectoryState,
    TutorProfileState,
    directory_url,
    summarise_weekly_hours,
    tutor_card,
    tutor_id_from_path,
)

D = "\u2013"  # the en dash of ranges


def _directory(url: str = "/") -> DirectoryState:
    state = state_on(DirectoryState, url, route="/")
    run(state.load_directory())
    return state


def _profile(tutor_id: str) -> TutorProfileState:
    state = state_on(TutorProfileState, f"/tutors/{tutor_id}", route="/tutors/[tutor_id]")
    run(state.load_profile())
    return state


def _redirect_target(spec: Any) -> str:
    """Where an `rx.redirect(...)` EventSpec sends the browser."""
    args = {name._js_expr: value._var_value for name, value in spec.args}
    assert set(args) >= {"path", "external", "replace"}, "not a redirect"
    assert args["external"] is False
    return args["path"]


def _ids(cards: list[Any]) -> list[str]:
    return [card["id"] for card in cards]


def test_directory_lists_every_active_tutor_with_what_a_card_shows(database: sa.Engine) -> None:
    state = _directory()

    assert state.loaded
    assert state.subject == ALL_SUBJECTS
    assert len(state.tutors) == 10
    assert state.visible_tutors == state.tutors
    names = [card["name"] for card in state.tutors]
    assert names == sorted(names)
    assert state.result_summary == "10 tutors"
    maria = next(card for card in state.tutors if card["id"] == "maria-garcia")
    assert maria["name"] == "María García"
    assert maria["rate"] == "$45/hour"
    assert maria["subjects"] == ["Spanish", "French"]
    assert maria["photo_url"] == "/avatars/maria-garcia.svg"
    assert maria["initials"] == "MG"
    assert maria["timezone"] == "Europe/Madrid"
    assert maria["timezone_label"].startswith("Europe/Madrid (")
    assert maria["bio"].startswith("Native Spanish speaker")
    assert state.subject_options[0] == ALL_SUBJECTS
    assert {"Mathematics", "Spanish", "Computer Science"} <= set(state.subject_options)


def test_subject_in_the_url_filters_the_list(database: sa.Engine) -> None:
    state = _directory("/?subject=Mathematics")

    assert state.subject == "Mathematics"
    assert sorted(_ids(state.visible_tutors)) == ["hannah-cohen", "james-okafor"]
    assert len(state.tutors) == 10  # the full list stays; the view is derived
    assert state.result_summary == "2 tutors teach Mathematics"


def test_subject_from_a_link_is_matched_whatever_its_case(database: sa.Engine) -> None:
    state = _directory("/?subject=computer%20science")

    assert state.subject == "Computer Science"
    assert _ids(state.visible_tutors) == ["priya-sharma"]
    assert state.result_summary == "1 tutor teaches Computer Science"


def test_choosing_a_subject_filters_at_once_and_puts_it_in_the_address(
    database: sa.Engine,
) -> None:
    state = _directory()

    spec = state.set_subject("Spanish")

    assert sorted(_ids(state.visible_tutors)) == ["lucas-silva", "maria-garcia"]
    assert _redirect_target(spec) == "/?subject=Spanish"
    # Following the redirect (its on_load) keeps the same filter.
    reloaded = _directory(_redirect_target(state.set_subject("Computer Science")))
    assert reloaded.subject == "Computer Science"
    assert _ids(reloaded.visible_tutors) == ["priya-sharma"]


def test_choosing_all_subjects_clears_the_filter_from_the_address(database: sa.Engine) -> None:
    state = _directory("/?subject=Physics")

    spec = state.set_subject(ALL_SUBJECTS)

    assert _redirect_target(spec) == "/"
    assert len(state.visible_tutors) == 10


def test_unknown_subject_shows_an_empty_list_with_a_way_back(database: sa.Engine) -> None:
    state = _directory("/?subject=Astrology")

    assert state.visible_tutors == []
    assert state.empty_message == "No tutors teach Astrology yet."
    assert state.result_summary == "0 tutors teach Astrology"
    assert state.subject_options[-1] == "Astrology"  # the select still shows what was asked

    spec = state.show_all()

    assert _redirect_target(spec) == "/"
    assert state.subject == ALL_SUBJECTS
    assert len(state.visible_tutors) == 10


def test_hidden_tutors_are_neither_listed_nor_shown(
    database: sa.Engine, session: Session
) -> None:
    tutor = session.get(Tutor, "aiko-tanaka")
    assert tutor is not None
    tutor.active = False
    session.commit()

    state = _directory()

    assert "aiko-tanaka" not in _ids(state.tutors)
    assert "Japanese" not in state.subject_options  # nobody teaches it any more
    assert _profile("aiko-tanaka").found is False


def test_profile_shows_the_tutor_and_links_to_booking(database: sa.Engine) -> None:
    state = _profile("james-okafor")

    assert state.loaded and state.found
    assert state.tutor["name"] == "James Okafor"
    assert state.tutor["subjects"] == ["Mathematics", "Physics"]
    assert state.tutor["rate"] == "$60/hour"
    assert state.tutor["timezone"] == "America/New_York"
    assert state.book_url == "/book-now?tutor=james-okafor"
    assert state.page_title == "James Okafor · Tutorly"
    assert state.hours, "weekly hours are summarised"
    assert all(row["days"] and row["times"] for row in state.hours)
    assert state.lengths_label == "30, 60 or 90 minute lessons"


def test_profile_names_the_tutors_own_lesson_lengths(
    database: sa.Engine, session: Session
) -> None:
    set_rules(session, lesson_durations=[120, 45])
    assert _profile("james-okafor").lengths_label == "45 or 120 minute lessons"
    set_rules(session, lesson_durations=[60])
    assert _profile("james-okafor").lengths_label == "60 minute lessons"


def test_an_incomplete_profile_is_not_listed(database: sa.Engine, session: Session) -> None:
    set_rules(session, "aiko-tanaka", weekly_hours={})

    state = _directory()

    assert "aiko-tanaka" not in _ids(state.tutors)
    assert "Japanese" not in state.subject_options


def test_profile_of_an_unknown_tutor_says_not_found(database: sa.Engine) -> None:
    state = _profile("no-such-tutor")

    assert state.loaded
    assert state.found is False
    assert state.tutor["name"] == ""
    assert state.hours == []
    assert state.page_title == "Tutor not found · Tutorly"


def test_profile_forgets_the_previous_tutor_when_the_next_is_unknown(
    database: sa.Engine,
) -> None:
    state = state_on(TutorProfileState, "/tutors/maria-garcia", route="/tutors/[tutor_id]")
    run(state.load_profile())
    assert state.found

    state.router = RouterData.from_router_data(
        {RouteVar.HEADERS: {"origin": ORIGIN}, RouteVar.PATH: "/tutors/[tutor_id]",
         RouteVar.ORIGIN: "/tutors/ghost"}
    )
    run(state.load_profile())

    assert state.found is False
    assert state.tutor["id"] == ""


def test_weekly_hours_merge_consecutive_days_with_the_same_windows() -> None:
    hours = {
        "mon": [["09:00", "13:00"], ["15:00", "19:00"]],
        "tue": [["09:00", "13:00"], ["15:00", "19:00"]],
        "wed": [["09:00", "13:00"], ["15:00", "19:00"]],
        "thu": [["10:00", "12:00"]],
        "fri": [["09:00", "13:00"], ["15:00", "19:00"]],
        "sat": [["10:00", "14:00"]],
        "sun": [["10:00", "14:00"]],
    }

    assert summarise_weekly_hours(hours) == [
        {"days": f"Mon {D} Wed", "times": f"09:00{D}13:00, 15:00{D}19:00"},
        {"days": "Thu", "times": f"10:00{D}12:00"},
        {"days": "Fri", "times": f"09:00{D}13:00, 15:00{D}19:00"},
        {"days": "Sat, Sun", "times": f"10:00{D}14:00"},
    ]


def test_weekly_hours_leave_out_days_off_without_joining_across_them() -> None:
    hours = {"mon": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]], "tue": []}

    assert summarise_weekly_hours(hours) == [
        {"days": "Mon", "times": f"09:00{D}17:00"},
        {"days": "Wed", "times": f"09:00{D}17:00"},
    ]


def test_card_keeps_cents_only_when_there_are_some(database: sa.Engine, session: Session) -> None:
    tutor = session.get(Tutor, "maria-garcia")
    assert tutor is not None
    tutor.hourly_rate_cents = 4550

    assert tutor_card(tutor)["rate"] == "$45.50/hour"


def test_the_headline_a_tutor_wrote_is_on_their_card_and_profile(
    database: sa.Engine, session: Session
) -> None:
    tutor = session.get(Tutor, "maria-garcia")
    assert tutor is not None
    tutor.headline = "Spanish and French, from first words to fluency"
    session.add(tutor)
    session.commit()

    cards = {card["id"]: card for card in _directory().tutors}
    assert cards["maria-garcia"]["headline"] == tutor.headline
    assert cards["james-okafor"]["headline"] == ""
    assert _profile("maria-garcia").tutor["headline"] == tutor.headline


def test_addresses_round_trip() -> None:
    assert directory_url(ALL_SUBJECTS) == "/"
    assert directory_url("Computer Science") == "/?subject=Computer+Science"
    assert tutor_id_from_path("/tutors/maria-garcia") == "maria-garcia"
    assert tutor_id_from_path("/app/tutors/maria-garcia/") == "maria-garcia"
