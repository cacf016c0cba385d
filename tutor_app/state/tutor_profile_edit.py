"""`/tutor/profile`: a tutor edits the profile students see, with a live preview of its card.

Every rule lives in `tutors.profile` (and the photo's in `tutors.media`). The fields are held
here as typed, so the preview (the directory's card, `state/directory.tutor_card`) follows
each keystroke; nothing is stored until "Save profile", which checks every field on the server
and shows each message beside its field, saving nothing while any is wrong.

A photo is stored as soon as it is uploaded (re-encoded and named after its content, so an
abandoned one harms nobody) and becomes the profile's only when the profile is saved.

Who reaches the page is `tutors.access.tutor_for_user`'s answer (the tutor, or an admin with
`?tutor=<id>`), asked afresh on every save; anybody else sees "not found". Database work and
Pillow run in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import account_settings
from tutor_app.admin import audit
from tutor_app.admin import tutors as admin_tutors
from tutor_app.catalog import tutor_catalog
from tutor_app.core import db as app_db
from tutor_app.core import routes, timefmt
from tutor_app.core.models import Tutor, User
from tutor_app.state.admin_edit import AdminEditMixin
from tutor_app.state.auth import AuthState, login_url
from tutor_app.state.directory import EMPTY_CARD, TutorCard, tutor_card
from tutor_app.tutors import access, media, profile
from tutor_app.tutors.profile import ProfileForm, ProfileGone, ProfileInvalid

TUTOR_PARAM = "tutor"  # ?tutor=<id>: an admin editing a tutor's profile
PHOTO_UPLOAD_ID = "photo-upload"
RATE_PLACEHOLDER = "\u2014"  # the preview's rate while the typed one is not a number


class ZoneOption(TypedDict):
    value: str  # "Europe/Paris"
    label: str  # "Europe/Paris (CET, UTC+01:00)"


def _zone_options() -> list[ZoneOption]:
    return [{"value": zone, "label": label} for zone, label in account_settings.zone_choices()]


def _read(user: User, tutor_id: str | None) -> tuple[Tutor | None, list[str]]:
    """The profile this user may edit (None: not found) and the subjects tutors teach."""
    with app_db.read_session() as db:
        return (access.tutor_for_user(db, user, tutor_id=tutor_id),
                tutor_catalog.all_subjects(db))


def _save(user: User, tutor_id: str, form: ProfileForm, reason: str) -> Tutor | None:
    """Save `form` when the user may still edit this profile; None when they may not. An
    admin's save needs `reason` and is audited (ReasonRequired: nothing saved)."""
    with app_db.session() as db:
        tutor = access.tutor_for_user(db, user, tutor_id=tutor_id)
        if tutor is None:
            return None
        if admin_tutors.acts_for_another(user, tutor):
            editing = tutor
            saved = admin_tutors.edit_as_admin(
                db, actor=user, tutor=tutor, action="tutor.profile", reason=reason,
                snapshot=lambda: admin_tutors.profile_snapshot(editing),
                change=lambda: profile.save_profile(db, tutor_id=tutor_id, form=form))
        else:
            saved = profile.save_profile(db, tutor_id=tutor_id, form=form)
        db.commit()
        return saved


def _may_edit(user: User, tutor_id: str) -> bool:
    with app_db.read_session() as db:
        return access.tutor_for_user(db, user, tutor_id=tutor_id) is not None


def _read_upload(files: list[rx.UploadFile]) -> bytes:
    """The first file's bytes, at most one past the limit (enough to know it is too big)."""
    return files[0].file.read(media.MAX_PHOTO_BYTES + 1) if files else b""


class TutorProfileEditState(AdminEditMixin, AuthState):
    """The profile form of the tutor (or admin) signed in, its messages and its preview."""

    loaded: bool = False
    found: bool = False  # this user may edit a profile here
    tutor_id: str = ""
    name: str = ""
    headline: str = ""
    bio: str = ""
    subjects: list[str] = []
    subject_draft: str = ""
    hourly_rate: str = ""
    currency: str = "usd"
    durations: list[int] = []
    offers_consultation: bool = False
    timezone: str = timefmt.DEFAULT_ZONE
    photo_url: str = ""
    uploading: bool = False
    saving: bool = False
    zone_options: list[ZoneOption] = []
    subject_suggestions: list[str] = []
    notice: str = ""

    name_error: str = ""
    headline_error: str = ""
    bio_error: str = ""
    subjects_error: str = ""
    rate_error: str = ""
    currency_error: str = ""
    durations_error: str = ""
    timezone_error: str = ""
    photo_error: str = ""

    # --- loading --------------------------------------------------------------------------

    @rx.event
    async def load(self) -> EventSpec | None:
        """on_load: who is this, and the profile they may edit (else "not found")."""
        self.loaded = False
        self._clear_messages()
        user = await self._current_user_off_loop()
        self._show_user(user)
        if user is None:
            return rx.redirect(login_url(self._current_path()))
        wanted = self.router.url.query_parameters.get(TUTOR_PARAM) or None
        tutor, subjects = await asyncio.to_thread(_read, user, wanted)
        self.found = tutor is not None
        self.admin_editing = tutor is not None and admin_tutors.acts_for_another(user, tutor)
        if tutor is not None:
            self._fill(tutor)
            self.subject_suggestions = subjects
            if not self.zone_options:
                self.zone_options = await asyncio.to_thread(_zone_options)
        self.loaded = True
        return None

    def _fill(self, tutor: Tutor) -> None:
        form = profile.form_for(tutor)
        self.tutor_id = tutor.id
        self.name = form.name
        self.headline = form.headline
        self.bio = form.bio
        self.subjects = list(form.subjects)
        self.subject_draft = ""
        self.hourly_rate = form.hourly_rate
        self.currency = form.currency
        self.durations = list(form.lesson_durations)
        self.offers_consultation = form.offers_consultation
        self.timezone = form.timezone
        self.photo_url = form.photo_url

    def _form(self) -> ProfileForm:
        return ProfileForm(
            name=self.name, headline=self.headline, bio=self.bio, subjects=list(self.subjects),
            hourly_rate=self.hourly_rate, currency=self.currency,
            lesson_durations=list(self.durations), timezone=self.timezone,
            photo_url=self.photo_url, offers_consultation=self.offers_consultation,
        )

    def _clear_messages(self) -> None:
        self.notice = ""
        self._show_errors({})

    def _show_errors(self, errors: dict[str, str]) -> None:
        self.name_error = errors.get(profile.NAME_FIELD, "")
        self.headline_error = errors.get(profile.HEADLINE_FIELD, "")
        self.bio_error = errors.get(profile.BIO_FIELD, "")
        self.subjects_error = errors.get(profile.SUBJECTS_FIELD, "")
        self.rate_error = errors.get(profile.RATE_FIELD, "")
        self.currency_error = errors.get(profile.CURRENCY_FIELD, "")
        self.durations_error = errors.get(profile.DURATIONS_FIELD, "")
        self.timezone_error = errors.get(profile.TIMEZONE_FIELD, "")
        self.photo_error = errors.get(profile.PHOTO_FIELD, "")

    # --- typing (no database: the preview follows) ---------------------------------------

    @rx.event
    def set_name(self, value: str) -> None:
        self.name, self.name_error, self.notice = str(value), "", ""

    @rx.event
    def set_headline(self, value: str) -> None:
        self.headline, self.headline_error, self.notice = str(value), "", ""

    @rx.event
    def set_bio(self, value: str) -> None:
        self.bio, self.bio_error, self.notice = str(value), "", ""

    @rx.event
    def set_hourly_rate(self, value: str) -> None:
        self.hourly_rate, self.rate_error, self.notice = str(value), "", ""

    @rx.event
    def set_currency(self, value: str) -> None:
        self.currency, self.currency_error, self.notice = str(value), "", ""

    @rx.event
    def set_timezone(self, value: str) -> None:
        self.timezone, self.timezone_error, self.notice = str(value), "", ""

    @rx.event
    def set_subject_draft(self, value: str) -> None:
        self.subject_draft = str(value)

    @rx.event
    def subject_key(self, key: str) -> None:
        """Enter in the subject box adds the subject (the form is never submitted by it)."""
        if key == "Enter":
            self._add_subject()

    @rx.event
    def add_subject(self) -> None:
        """Add the typed subject as a tag: tidied, once (ignoring case), at most MAX_SUBJECTS."""
        self._add_subject()

    def _add_subject(self) -> None:
        subject = " ".join(self.subject_draft.split())
        self.notice = ""
        if not subject:
            return
        if any(s.casefold() == subject.casefold() for s in self.subjects):
            self.subject_draft = ""
            return
        if len(self.subjects) >= profile.MAX_SUBJECTS:
            self.subjects_error = profile.TOO_MANY_SUBJECTS
            return
        if len(subject) > profile.MAX_SUBJECT_LENGTH:
            self.subjects_error = profile.SUBJECT_TOO_LONG
            return
        self.subjects = [*self.subjects, subject]
        self.subject_draft = ""
        self.subjects_error = ""

    @rx.event
    def remove_subject(self, subject: str) -> None:
        self.subjects = [s for s in self.subjects if s != subject]
        self.subjects_error = self.notice = ""

    @rx.event
    def set_duration(self, minutes: int, offered: bool) -> None:
        """Tick or untick one lesson length."""
        chosen = set(self.durations)
        if offered:
            chosen.add(int(minutes))
        else:
            chosen.discard(int(minutes))
        self.durations = sorted(chosen)
        self.durations_error = self.notice = ""

    @rx.event
    def set_offers_consultation(self, offered: bool) -> None:
        """Offer (or stop offering) a free 15-minute intro."""
        self.offers_consultation = bool(offered)
        self.notice = ""

    # --- photo ----------------------------------------------------------------------------

    @rx.event
    async def upload_photo(self, files: list[rx.UploadFile]) -> AsyncIterator[None]:
        """Check, re-encode and store the chosen photo (off the loop); the preview shows it,
        and "Save profile" makes it the profile's."""
        self.photo_error = self.notice = ""
        user = await self._current_user_off_loop()
        if user is None or not self.found:
            return
        if not await asyncio.to_thread(_may_edit, user, self.tutor_id):
            self.found = False  # no longer theirs: the page says "not found"
            return
        self.uploading = True
        yield  # the button shows it is busy while Pillow works
        try:
            data = await asyncio.to_thread(_read_upload, files)
            self.photo_url = await asyncio.to_thread(media.store_photo, data)
        except media.PhotoRejected as rejected:
            self.photo_error = str(rejected)
        finally:
            self.uploading = False

    @rx.event
    def photo_rejected(self, rejected: list[dict[str, Any]]) -> None:
        """The browser refused the file before sending it (type or size)."""
        self.photo_error = media.PHOTO_NOT_ACCEPTED if rejected else ""

    # --- saving ---------------------------------------------------------------------------

    @rx.event
    async def save(self) -> EventSpec | None:
        """Check every field on the server and store the profile, or say what is wrong where."""
        self._clear_messages()
        user = await self._current_user_off_loop()
        if user is None:
            self._show_user(None)
            return rx.redirect(login_url(self._current_path()))
        if not self.found:
            return None
        self.saving = True
        try:
            saved = await asyncio.to_thread(_save, user, self.tutor_id, self._form(),
                                            self.edit_reason)
        except audit.ReasonRequired as refused:
            self._reason_missing(refused)
            return None
        except ProfileInvalid as invalid:
            self._show_errors(invalid.errors)
            return None
        except ProfileGone:
            saved = None
        finally:
            self.saving = False
        if saved is None:
            self.found = False
            return None
        self._fill(saved)
        self.notice = profile.PROFILE_SAVED
        return None

    # --- derived --------------------------------------------------------------------------

    @rx.var(cache=True)
    def preview(self) -> TutorCard:
        """The directory's card as it will look with the form's values."""
        if not self.tutor_id:
            return EMPTY_CARD
        cents = profile.parse_rate(self.hourly_rate)
        card = tutor_card(
            Tutor(
                id=self.tutor_id,
                name=" ".join(self.name.split()) or "Your name",
                headline=" ".join(self.headline.split()),
                photo_url=self.photo_url,
                subjects=list(self.subjects),
                hourly_rate_cents=cents or 0,
                currency=self.currency,
                bio=self.bio.strip(),
                timezone=timefmt.safe_zone(self.timezone),
            )
        )
        if not cents:
            card["rate"] = f"{RATE_PLACEHOLDER}/hour"
        return card

    @rx.var(cache=True)
    def public_url(self) -> str:
        """The profile as students see it."""
        return routes.tutor_profile(self.tutor_id) if self.tutor_id else ""

    @rx.var(cache=True)
    def headline_count(self) -> str:
        """ "12/120": how much of the headline's length is used."""
        return f"{len(self.headline)}/{profile.MAX_HEADLINE_LENGTH}"

    @rx.var(cache=True)
    def currency_options(self) -> list[str]:
        return list(profile.CURRENCIES)
