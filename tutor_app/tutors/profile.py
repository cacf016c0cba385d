"""The profile students see, as its tutor edits it on `/tutor/profile`.

Every field is checked here, all at once, and a form with any wrong field saves nothing: the
caller gets `ProfileInvalid` with one message per field, which the page shows beside it. The
rules:

- name: 1-80 characters (spaces tidied); headline: at most 120; bio: at most 2,000;
- subjects: 1-8 tags of at most 40 characters each, no repeats (ignoring case);
- hourly rate: in currency units ("45" or "45.50"), from 1.00 (a 30-minute lesson then costs
  0.50, Stripe's smallest charge) to 500.00, in one of `CURRENCIES`;
- lesson lengths: one or more of `LESSON_LENGTHS` minutes;
- time zone: one a person may choose on the account page (`account_settings`);
- photo: the current one, or one stored by `tutors.media` (uploaded on this page).

Who may edit a profile is `tutors.access.tutor_for_user`'s answer: the tutor whose account
runs it, or an admin naming it. No Reflex here: `state/tutor_profile_edit.py` calls these
with plain values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session

from tutor_app.accounts import account_settings
from tutor_app.catalog import tutor_catalog
from tutor_app.core import clock
from tutor_app.core.models import Tutor
from tutor_app.tutors import media

# The form's fields, which a message can belong to.
NAME_FIELD = "name"
HEADLINE_FIELD = "headline"
BIO_FIELD = "bio"
SUBJECTS_FIELD = "subjects"
RATE_FIELD = "hourly_rate"
CURRENCY_FIELD = "currency"
DURATIONS_FIELD = "lesson_durations"
TIMEZONE_FIELD = "timezone"
PHOTO_FIELD = "photo"

MAX_NAME_LENGTH = 80
MAX_HEADLINE_LENGTH = 120  # the column's length
MAX_BIO_LENGTH = 2000
MAX_SUBJECTS = 8
MAX_SUBJECT_LENGTH = 40
MIN_RATE_CENTS = 100
MAX_RATE_CENTS = 50_000
# Currencies a tutor may charge in: Stripe's, all with two decimals (cents).
CURRENCIES: tuple[str, ...] = ("usd", "eur", "gbp", "cad", "aud", "chf")
# Lesson lengths a tutor may offer, in minutes.
LESSON_LENGTHS: tuple[int, ...] = (30, 45, 60, 90, 120)
_RATE = re.compile(r"(\d{1,6})(?:[.,](\d{1,2}))?")

NAME_MISSING = "Enter the name students will see"
NAME_TOO_LONG = f"Keep the name to {MAX_NAME_LENGTH} characters"
HEADLINE_TOO_LONG = f"Keep the headline to {MAX_HEADLINE_LENGTH} characters"
BIO_TOO_LONG = f"Keep the bio to {MAX_BIO_LENGTH:,} characters"
SUBJECTS_MISSING = "Add at least one subject you teach"
TOO_MANY_SUBJECTS = f"Choose at most {MAX_SUBJECTS} subjects"
SUBJECT_TOO_LONG = f"Keep each subject to {MAX_SUBJECT_LENGTH} characters"
SUBJECT_REPEATED = "Each subject only once, please"
RATE_NOT_A_NUMBER = "Enter the hourly rate as a number, like 45 or 45.50"
RATE_TOO_LOW = "The hourly rate must be at least 1.00"
RATE_TOO_HIGH = f"The hourly rate can be at most {MAX_RATE_CENTS // 100}.00"
UNKNOWN_CURRENCY = "Choose a currency from the list"
DURATIONS_MISSING = "Offer at least one lesson length"
UNKNOWN_DURATION = "Choose lesson lengths from the list"
UNKNOWN_ZONE = account_settings.UNKNOWN_ZONE
PHOTO_GONE = "That photo is no longer available. Please upload it again."
PROFILE_SAVED = "Profile saved. Students see the changes now."


class ProfileInvalid(ValueError):
    """One or more fields are wrong; `errors` maps each field to its message. Nothing saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ProfileGone(LookupError):
    """The profile no longer exists (the page treats it as not found)."""


@dataclass(frozen=True)
class ProfileForm:
    """The profile as the form holds it: text as typed, lengths as ticked."""

    name: str
    headline: str
    bio: str
    subjects: Sequence[str]
    hourly_rate: str  # "45" or "45.50", in currency units
    currency: str
    lesson_durations: Sequence[int]
    timezone: str
    photo_url: str
    offers_consultation: bool = False


@dataclass(frozen=True)
class CleanProfile:
    """A checked profile, ready to store."""

    name: str
    headline: str
    bio: str
    subjects: list[str]
    hourly_rate_cents: int
    currency: str
    lesson_durations: list[int]
    timezone: str
    photo_url: str
    offers_consultation: bool = False
    errors: dict[str, str] = field(default_factory=dict)


def rate_text(cents: int) -> str:
    """A rate in cents as the form shows it: "45" for whole amounts, else "45.50"."""
    units, rest = divmod(cents, 100)
    return str(units) if rest == 0 else f"{units}.{rest:02d}"


def parse_rate(text: str) -> int | None:
    """The cents of a rate typed as "45", "45.5", "45.50" or "45,50"; None if it is not one."""
    match = _RATE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    # Digits only (the pattern): exact in Decimal, never a float.
    return int(Decimal(f"{match.group(1)}.{match.group(2) or '0'}") * 100)


def form_for(tutor: Tutor) -> ProfileForm:
    """The form filled in with the profile as it is stored."""
    return ProfileForm(
        name=tutor.name,
        headline=tutor.headline,
        bio=tutor.bio,
        subjects=list(tutor.subjects),
        hourly_rate=rate_text(tutor.hourly_rate_cents),
        currency=tutor.currency,
        lesson_durations=sorted(tutor.lesson_durations),
        timezone=tutor.timezone,
        photo_url=tutor.photo_url,
        offers_consultation=tutor.offers_consultation,
    )


def check_profile(form: ProfileForm, *, current_photo_url: str) -> CleanProfile:
    """`form` tidied and checked; its `errors` hold one message per wrong field (none: valid).

    Never raises for bad input, so the page can also use it to show the live preview.
    """
    errors: dict[str, str] = {}
    name = " ".join(str(form.name).split())
    if not name:
        errors[NAME_FIELD] = NAME_MISSING
    elif len(name) > MAX_NAME_LENGTH:
        errors[NAME_FIELD] = NAME_TOO_LONG
    headline = " ".join(str(form.headline).split())
    if len(headline) > MAX_HEADLINE_LENGTH:
        errors[HEADLINE_FIELD] = HEADLINE_TOO_LONG
    bio = str(form.bio).strip()
    if len(bio) > MAX_BIO_LENGTH:
        errors[BIO_FIELD] = BIO_TOO_LONG
    subjects = _subjects(form.subjects, errors)
    cents = parse_rate(form.hourly_rate)
    if cents is None:
        errors[RATE_FIELD] = RATE_NOT_A_NUMBER
    elif cents < MIN_RATE_CENTS:
        errors[RATE_FIELD] = RATE_TOO_LOW
    elif cents > MAX_RATE_CENTS:
        errors[RATE_FIELD] = RATE_TOO_HIGH
    currency = str(form.currency).strip().lower()
    if currency not in CURRENCIES:
        errors[CURRENCY_FIELD] = UNKNOWN_CURRENCY
    durations = _durations(form.lesson_durations, errors)
    if not account_settings.is_selectable_zone(form.timezone):
        errors[TIMEZONE_FIELD] = UNKNOWN_ZONE
    photo_url = str(form.photo_url)
    if photo_url != current_photo_url and not media.is_stored_photo_url(photo_url):
        errors[PHOTO_FIELD] = PHOTO_GONE
    return CleanProfile(
        name=name,
        headline=headline,
        bio=bio,
        subjects=subjects,
        hourly_rate_cents=cents or 0,
        currency=currency,
        lesson_durations=durations,
        timezone=str(form.timezone),
        photo_url=photo_url,
        offers_consultation=bool(form.offers_consultation),
        errors=errors,
    )


def _subjects(raw: Sequence[str], errors: dict[str, str]) -> list[str]:
    subjects = [" ".join(str(s).split()) for s in raw]
    subjects = [s for s in subjects if s]
    folded = [s.casefold() for s in subjects]
    if not subjects:
        errors[SUBJECTS_FIELD] = SUBJECTS_MISSING
    elif len(subjects) > MAX_SUBJECTS:
        errors[SUBJECTS_FIELD] = TOO_MANY_SUBJECTS
    elif any(len(s) > MAX_SUBJECT_LENGTH for s in subjects):
        errors[SUBJECTS_FIELD] = SUBJECT_TOO_LONG
    elif len(set(folded)) != len(folded):
        errors[SUBJECTS_FIELD] = SUBJECT_REPEATED
    return subjects


def _durations(raw: Sequence[int], errors: dict[str, str]) -> list[int]:
    if any(isinstance(m, bool) or not isinstance(m, int) or m not in LESSON_LENGTHS
           for m in raw):
        errors[DURATIONS_FIELD] = UNKNOWN_DURATION
        return []
    durations = sorted(set(raw))
    if not durations:
        errors[DURATIONS_FIELD] = DURATIONS_MISSING
    return durations


def save_profile(db: Session, *, tutor_id: str, form: ProfileForm) -> Tutor:
    """Store the profile when every field is right; ProfileInvalid (nothing changed) when any
    is not, ProfileGone when the profile no longer exists. The caller commits."""
    tutor = tutor_catalog.get_tutor(db, tutor_id, include_inactive=True)
    if tutor is None:
        raise ProfileGone(tutor_id)
    clean = check_profile(form, current_photo_url=tutor.photo_url)
    if clean.errors:
        raise ProfileInvalid(clean.errors)
    tutor.name = clean.name
    tutor.headline = clean.headline
    tutor.bio = clean.bio
    tutor.subjects = clean.subjects
    tutor.hourly_rate_cents = clean.hourly_rate_cents
    tutor.currency = clean.currency
    tutor.lesson_durations = clean.lesson_durations
    tutor.timezone = clean.timezone
    tutor.photo_url = clean.photo_url
    # Switching intros off hides the offer; consultations already booked stay as they are.
    tutor.offers_consultation = clean.offers_consultation
    tutor.updated_at = clock.now()
    db.add(tutor)
    db.flush()
    return tutor
