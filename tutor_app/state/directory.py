"""The tutor directory (`/`) and a tutor's profile (`/tutors/[tutor_id]`).

Both states hold the catalog as small plain dicts, ready to render: the catalog has a handful
of tutors, so the directory keeps them all and derives the filtered view with a cached var
instead of asking the database again on every change of the filter. The subject filter lives in
the URL (`/?subject=Mathematics`), so a filtered list can be shared and the back button works.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypedDict
from urllib.parse import unquote, urlencode

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import account_settings
from tutor_app.booking import consultations
from tutor_app.catalog import tutor_catalog
from tutor_app.catalog.pricing import format_money
from tutor_app.core import db as app_db
from tutor_app.core import routes, timefmt
from tutor_app.core.models import Tutor
from tutor_app.core.settings import PRODUCT_NAME
from tutor_app.core.timefmt import EN_DASH
from tutor_app.state.auth import AuthState

log = logging.getLogger(__name__)

ALL_SUBJECTS = "All subjects"
_ZERO_CENTS = re.compile(r"\.00(?=\D|$)")
SUBJECT_PARAM = "subject"
NOTICE_PARAM = "notice"
ACCOUNT_DELETED_NOTICE = "account-deleted"

_DAY_NAMES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri",
              "sat": "Sat", "sun": "Sun"}


class TutorCard(TypedDict):
    """What a page shows of one tutor; plain data, so it travels cheaply to the browser."""

    id: str
    name: str
    headline: str  # one line under the name ("" when the tutor wrote none)
    photo_url: str
    initials: str
    subjects: list[str]
    rate: str  # "$45/hour"
    bio: str
    timezone: str  # IANA name, e.g. "Europe/Madrid"
    timezone_label: str  # "Europe/Madrid (CEST, UTC+02:00)": today's offset, named
    offers_consultation: bool  # a free 15-minute intro can be booked


class HoursRow(TypedDict):
    """One line of a tutor's weekly hours: days that share the same windows."""

    days: str  # "Mon - Fri" (with an en dash)
    times: str  # "09:00-13:00, 15:00-19:00" (en dashes)


EMPTY_CARD: TutorCard = {
    "id": "", "name": "", "headline": "", "photo_url": "", "initials": "", "subjects": [],
    "rate": "", "bio": "", "timezone": "", "timezone_label": "", "offers_consultation": False,
}


def directory_url(subject: str) -> str:
    """The shareable address of the directory filtered by `subject` ("/" for all)."""
    if not subject or subject == ALL_SUBJECTS:
        return routes.DIRECTORY
    return f"{routes.DIRECTORY}?{urlencode({SUBJECT_PARAM: subject})}"


def home_after_deletion() -> str:
    """Where a browser goes once its account is deleted: home, saying so."""
    return f"{routes.DIRECTORY}?{urlencode({NOTICE_PARAM: ACCOUNT_DELETED_NOTICE})}"


def tutor_card(tutor: Tutor, *, now: datetime | None = None) -> TutorCard:
    """Flatten a catalog row into what the directory card and the profile show."""
    return {
        "id": tutor.id,
        "name": tutor.name,
        "headline": tutor.headline,
        "photo_url": tutor.photo_url or tutor_catalog.FALLBACK_PHOTO,
        "initials": "".join(part[0] for part in tutor.name.split()[:2]).upper(),
        "subjects": list(tutor.subjects),
        "rate": f"{_whole(format_money(tutor.hourly_rate_cents, tutor.currency))}/hour",
        "bio": tutor.bio,
        "timezone": tutor.timezone,
        "timezone_label": timefmt.zone_label(tutor.timezone, now),
        "offers_consultation": consultations.offers_consultation(tutor),
    }


def _whole(amount: str) -> str:
    """ "$45.00" -> "$45": rates are whole amounts, and the cents only add noise to a card."""
    return _ZERO_CENTS.sub("", amount)


def summarise_weekly_hours(weekly_hours: Mapping[str, Sequence[Sequence[str]]]) -> list[HoursRow]:
    """Weekly hours as a few readable lines, consecutive days with equal windows merged.

    {"mon".."fri": [["09:00", "17:00"]], "sat": [["10:00", "14:00"]]} becomes
    "Mon - Fri 09:00-17:00" and "Sat 10:00-14:00" (with en dashes); days without hours are
    left out.
    """
    rows: list[HoursRow] = []
    run: list[str] = []
    run_times = ""
    for day in tutor_catalog.DAYS:
        windows = weekly_hours.get(day) or []
        times = ", ".join(f"{start}{EN_DASH}{end}" for start, end in windows)
        if run and times == run_times:
            run.append(day)
            continue
        if run and run_times:
            rows.append(_hours_row(run, run_times))
        run, run_times = [day], times
    if run and run_times:
        rows.append(_hours_row(run, run_times))
    return rows


def _hours_row(days: list[str], times: str) -> HoursRow:
    first, last = _DAY_NAMES[days[0]], _DAY_NAMES[days[-1]]
    if len(days) == 1:
        label = first
    elif len(days) == 2:
        label = f"{first}, {last}"
    else:
        label = f"{first} {EN_DASH} {last}"
    return {"days": label, "times": times}


def lesson_lengths_label(minutes: Sequence[int]) -> str:
    """ "30, 60 or 90 minute lessons" (the tutor's own lengths); "" for none."""
    if not minutes:
        return ""
    if len(minutes) == 1:
        return f"{minutes[0]} minute lessons"
    return ", ".join(map(str, minutes[:-1])) + f" or {minutes[-1]} minute lessons"


def tutor_id_from_path(path: str) -> str:
    """The `[tutor_id]` of `/tutors/[tutor_id]`: the last segment of the browser path.

    Read from the URL rather than from Reflex's deprecated page params, so it holds with a
    configured frontend path prefix and a trailing slash alike.
    """
    return unquote(path.rstrip("/").rsplit("/", 1)[-1]).strip()


def _read_catalog() -> tuple[list[Tutor], list[str]]:
    with app_db.session() as db:
        return list(tutor_catalog.list_tutors(db)), tutor_catalog.all_subjects(db)


def _read_tutor(tutor_id: str) -> Tutor | None:
    with app_db.session() as db:
        return tutor_catalog.get_tutor(db, tutor_id)


class DirectoryState(AuthState):
    """The list of active tutors and the subject filter of `/`."""

    tutors: list[TutorCard] = []
    subjects: list[str] = []
    subject: str = ALL_SUBJECTS
    loaded: bool = False

    @rx.var
    def home_notice(self) -> str:
        """The message of `/?notice=account-deleted` (only that one: a crafted link cannot put
        its own text on the page)."""
        key = self.router.url.query_parameters.get(NOTICE_PARAM, "")
        return account_settings.ACCOUNT_DELETED if key == ACCOUNT_DELETED_NOTICE else ""

    @rx.event
    async def load_directory(self) -> None:
        """Read the catalog (off the loop) and take the filter from `?subject=` (on_load of
        `/`)."""
        wanted = self.router.url.query_parameters.get(SUBJECT_PARAM, "").strip()
        tutors, subjects = await asyncio.to_thread(_read_catalog)
        cards = [tutor_card(t) for t in tutors]
        # Assigning marks a var dirty and resends it; on a filter change nothing else moved.
        if cards != self.tutors:
            self.tutors = cards
        if subjects != self.subjects:
            self.subjects = subjects
        self.subject = _canonical_subject(wanted, subjects)
        self.loaded = True

    @rx.event
    def set_subject(self, subject: str) -> EventSpec:
        """Filter by `subject` at once and put it in the address bar, so it can be shared."""
        return self._choose(subject)

    @rx.event
    def show_all(self) -> EventSpec:
        """Drop the subject filter (the empty result's way out)."""
        return self._choose(ALL_SUBJECTS)

    def _choose(self, subject: str) -> EventSpec:
        # The list updates now; the redirect only changes the address (its on_load re-reads
        # the same filter from the URL, which keeps a pasted link and a click consistent).
        self.subject = subject.strip() or ALL_SUBJECTS
        return rx.redirect(directory_url(self.subject))

    @rx.var(cache=True)
    def visible_tutors(self) -> list[TutorCard]:
        """The tutors who teach the chosen subject (all of them without a filter)."""
        if self.subject == ALL_SUBJECTS:
            return self.tutors
        wanted = self.subject.casefold()
        return [t for t in self.tutors if any(s.casefold() == wanted for s in t["subjects"])]

    @rx.var(cache=True)
    def subject_options(self) -> list[str]:
        """The filter's choices; an unknown subject from a shared link stays shown as chosen."""
        options = [ALL_SUBJECTS, *self.subjects]
        if self.subject not in options:
            options.append(self.subject)
        return options

    @rx.var(cache=True)
    def result_summary(self) -> str:
        """ "10 tutors" or "2 tutors teach Mathematics", announced to screen readers too."""
        count = len(self.visible_tutors)
        noun = "tutor" if count == 1 else "tutors"
        if self.subject == ALL_SUBJECTS:
            return f"{count} {noun}"
        verb = "teaches" if count == 1 else "teach"
        return f"{count} {noun} {verb} {self.subject}"

    @rx.var(cache=True)
    def empty_message(self) -> str:
        """Why the list is empty, naming the subject nobody teaches yet."""
        if self.subject == ALL_SUBJECTS:
            return "No tutors are listed right now. Please check back soon."
        return f"No tutors teach {self.subject} yet."


def _canonical_subject(wanted: str, subjects: list[str]) -> str:
    """The catalog's spelling of `wanted` ("mathematics" -> "Mathematics"), else as given."""
    if not wanted or wanted.casefold() == ALL_SUBJECTS.casefold():
        return ALL_SUBJECTS
    for subject in subjects:
        if subject.casefold() == wanted.casefold():
            return subject
    return wanted


class TutorProfileState(AuthState):
    """One tutor's profile, from the `[tutor_id]` of `/tutors/[tutor_id]`."""

    tutor: TutorCard = EMPTY_CARD
    hours: list[HoursRow] = []
    lengths_label: str = ""  # "30, 60 or 90 minute lessons"
    found: bool = False
    loaded: bool = False

    @rx.event
    async def load_profile(self) -> None:
        """Look the tutor up (on_load, off the loop); an unknown or hidden id shows "Tutor not
        found"."""
        wanted = tutor_id_from_path(self.router.url.path)
        tutor = await asyncio.to_thread(_read_tutor, wanted) if wanted else None
        if tutor is None:
            log.info("profile of unknown tutor id %r", wanted[:64])
            self.tutor = EMPTY_CARD
            self.hours = []
            self.lengths_label = ""
            self.found = False
        else:
            self.tutor = tutor_card(tutor)
            self.hours = summarise_weekly_hours(tutor.weekly_hours)
            self.lengths_label = lesson_lengths_label(tutor_catalog.lesson_lengths(tutor))
            self.found = True
        self.loaded = True

    @rx.var(cache=True)
    def book_url(self) -> str:
        """The booking wizard with this tutor already chosen."""
        return routes.book_now(self.tutor["id"])

    @rx.var(cache=True)
    def intro_url(self) -> str:
        """The wizard with this tutor's free consultation chosen ("" when none is offered)."""
        if not self.tutor["offers_consultation"]:
            return ""
        return routes.book_consultation(self.tutor["id"])

    @rx.var(cache=True)
    def page_title(self) -> str:
        """The browser tab's title."""
        if self.loaded and not self.found:
            return f"Tutor not found · {PRODUCT_NAME}"
        return f"{self.tutor['name'] or 'Tutor'} · {PRODUCT_NAME}"
