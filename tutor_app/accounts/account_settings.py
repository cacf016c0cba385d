"""Account settings: what a signed-in person changes about their own account.

One function per action of the `/account` page (name, email, time zone, password, signed-in
devices, deleting the account), and `remember_zone`, which saves the zone the browser reports
the first time one is known (sign-up, OpenID sign-in, a checkout) and never overwrites a saved
one: a zone chosen on the account page wins over every later detection.

Every message a person sees is decided here, with the form field it belongs to (`AuthError`,
as for sign-up). A password is checked by `users.authenticate`, so a wrong current password
is a failed sign-in like any other and meets the same throttle.

A new email address is asked for here and takes effect only when the link mailed to it is
opened (`email_verification.verify_email`): until then the account keeps its address, and the
old address is told, so a stolen password cannot quietly move the account away.

Deleting an account keeps its row, anonymised: the lessons it paid for stay in the tutor's and
the business's records (refunds and payouts refer to them) without the student's name, email
or notes. It is refused while a paid lesson is still to come, so no paid lesson is ever
dropped without its refund. No Reflex here: `state/account.py` calls these with plain values.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import available_timezones

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.accounts import email_links, passwords, sign_in_sessions, users
from tutor_app.accounts.email_links import CHANGE_EMAIL, EMAIL_CHANGE_NOTICE, OutgoingLink
from tutor_app.accounts.users import AuthError, ThrottledError
from tutor_app.core import clock, rate_limits
from tutor_app.core import db as app_db
from tutor_app.core.models import (
    Booking,
    BookingStatus,
    CalendarConnection,
    HoldStatus,
    LoginThrottle,
    OAuthIdentity,
    OAuthState,
    Role,
    SlotHold,
    User,
)
from tutor_app.core.timefmt import zone_label
from tutor_app.core.token_crypto import TokenDecryptError, decrypt_token
from tutor_app.integrations import oauth

log = logging.getLogger(__name__)

# The fields of the page's forms that a message can belong to.
NAME_FIELD = "name"
NEW_EMAIL_FIELD = "new_email"
EMAIL_PASSWORD_FIELD = "email_password"
TIMEZONE_FIELD = "timezone"
CURRENT_PASSWORD_FIELD = "current_password"
NEW_PASSWORD_FIELD = "new_password"
CONFIRM_FIELD = "confirm"

UNKNOWN_ZONE = "Choose a time zone from the list"
MISSING_CURRENT_PASSWORD = "Enter your current password"
WRONG_CURRENT_PASSWORD = "That is not your current password"
NO_PASSWORD = "You sign in with Google"
EMAIL_FROM_GOOGLE = "Your email comes from your Google sign-in"
SAME_EMAIL = "That is already your email address"
EMAIL_CHANGE_SENT = "We sent a link to {email}. Your email changes when you open it."
UPCOMING_LESSONS = "Cancel your upcoming lessons first"
DELETE_WORD = "DELETE"
CONFIRM_WITH_PASSWORD = "Enter your password to delete your account"
CONFIRM_WITH_WORD = f"Type {DELETE_WORD} to delete your account"
NAME_SAVED = "Name saved"
ZONE_SAVED = "Time zone saved"
PASSWORD_CHANGED = "Password changed. Your other devices have been signed out."
ACCOUNT_DELETED = "Your account has been deleted."

# tzdata entries that name no place a person lives in.
_NOT_PLACES = frozenset({"Factory", "localtime"})
# A deleted account's email: unique, and at a domain that can never receive mail (RFC 2606).
DELETED_EMAIL_DOMAIN = "deleted.invalid"
UNKNOWN_DEVICE = "Unknown device"

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edg", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
# Likewise: iPhones also say "Mac OS X", Android also says "Linux".
_SYSTEMS = (
    ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("CrOS", "ChromeOS"),
    ("Windows", "Windows"), ("Macintosh", "macOS"), ("Linux", "Linux"),
)


class AccountGone(LookupError):
    """The account no longer exists (deleted meanwhile): the page signs the visitor out."""


@dataclass(frozen=True)
class Device:
    """One signed-in browser, as the account page lists it."""

    session_id: str
    description: str  # "Chrome on Linux"
    signed_in_at: datetime
    current: bool  # the browser asking


@dataclass(frozen=True)
class DeletedAccount:
    """What `delete_account` leaves for the caller to do after its commit.

    `released_sessions`: the checkout sessions of the holds it released, to be closed at
    Stripe (`booking.checkout.expire_sessions`) so nobody pays for a slot that is gone.
    """

    released_sessions: list[str]


# -- time zone -------------------------------------------------------------------------------


@functools.cache
def selectable_zones() -> tuple[str, ...]:
    """Every IANA zone a person may choose, sorted by name."""
    return tuple(sorted(available_timezones() - _NOT_PLACES))


@functools.cache
def _selectable() -> frozenset[str]:
    return frozenset(selectable_zones())


def is_selectable_zone(zone: object) -> bool:
    return isinstance(zone, str) and zone in _selectable()


def zone_choices(now: datetime | None = None) -> list[tuple[str, str]]:
    """(zone, label) for the selector, the label with today's offset:
    `Europe/Paris (CET, UTC+01:00)`."""
    at = now or clock.now()
    return [(zone, zone_label(zone, at)) for zone in selectable_zones()]


def remember_zone(db: Session, *, user_id: str, zone: str | None) -> bool:
    """Save a detected zone (the browser's `tz` cookie) on an account that has none yet;
    True when it was saved. Caller commits.

    One conditional UPDATE (`timezone IS NULL`), so a zone chosen on the account page at the
    same moment is never overwritten by a detection.
    """
    if not is_selectable_zone(zone):
        return False
    result = db.execute(
        sa.update(User)
        .where(
            col(User.id) == user_id,
            col(User.timezone).is_(None),
            col(User.deleted_at).is_(None),
        )
        .values(timezone=zone, updated_at=clock.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_timezone(db: Session, *, user_id: str, zone: str) -> User:
    """The zone chosen on the account page; every email and page shows lessons in it from now
    on. AuthError("timezone", ...) for a zone not in the list. Caller commits."""
    if not is_selectable_zone(zone):
        raise AuthError(TIMEZONE_FIELD, UNKNOWN_ZONE)
    user = _user(db, user_id)
    user.timezone = zone
    return _save(db, user)


# -- name, email and password ----------------------------------------------------------------


def change_name(db: Session, *, user_id: str, name: str) -> User:
    """A new name, by sign-up's rule (`users.validate_name`). Caller commits."""
    clean = users.validate_name(name)
    user = _user(db, user_id)
    user.name = clean
    return _save(db, user)


def has_password(user: User) -> bool:
    """Whether the account signs in with a password (else only with its OpenID provider)."""
    return user.password_hash is not None


def change_password(
    db: Session, *, user_id: str, current_password: str, new_password: str,
    keep_token: str | None,
    ip: str,
) -> int:
    """Replace the password and sign out every other browser; how many were signed out.

    `keep_token` is the asking browser's session token: it stays signed in. The new password
    follows sign-up's length rules; the current one is checked as a sign-in (a wrong one
    counts towards the throttle). An account without a password has nothing to change.
    Caller commits.
    """
    user = _user(db, user_id)
    if not has_password(user):
        raise AuthError(CURRENT_PASSWORD_FIELD, NO_PASSWORD)
    errors: dict[str, str] = {}
    if not current_password:
        errors[CURRENT_PASSWORD_FIELD] = MISSING_CURRENT_PASSWORD
    try:
        users.validate_password(new_password)
    except AuthError as error:
        errors[NEW_PASSWORD_FIELD] = error.message
    if errors:
        field, message = next(iter(errors.items()))
        raise AuthError(field, message, errors)
    _check_password(db, user, current_password, field=CURRENT_PASSWORD_FIELD,
                    wrong=WRONG_CURRENT_PASSWORD, ip=ip)
    user = _user(db, user_id)
    user.password_hash = passwords.hash_password(new_password)
    _save(db, user)
    revoked = sign_in_sessions.revoke_sessions(db, user_id=user_id, except_token=keep_token)
    log.info("user %s changed their password; %d other sessions revoked", user_id, revoked)
    return revoked


def request_email_change(
    *, user_id: str, new_email: str, password: str, ip: str, now: datetime | None = None
) -> str:
    """Mail a link to `new_email` that makes it the account's address once opened, and a
    notice to the current address; what to tell the person. Owns its transactions.

    The account keeps its email until the link is opened. Refused by the field (AuthError):
    an account without a password (its email comes from its OpenID provider), a malformed or
    unchanged address, a missing or wrong password (counted as a failed sign-in), too many
    requests from this account or address (`rate_limits.limit_email_change`), and an address
    that any user already has, said only once the password is right so that it cannot be used
    to find out who has an account.
    """
    now = now or clock.now()
    with app_db.session() as db:
        user = _user(db, user_id)
        if not has_password(user):
            raise AuthError(NEW_EMAIL_FIELD, EMAIL_FROM_GOOGLE)
        errors: dict[str, str] = {}
        normalized = ""
        try:
            normalized = users.validate_email(new_email)
        except AuthError as error:
            errors[NEW_EMAIL_FIELD] = error.message
        if normalized == user.email:
            errors[NEW_EMAIL_FIELD] = SAME_EMAIL
        if not password:
            errors[EMAIL_PASSWORD_FIELD] = MISSING_CURRENT_PASSWORD
        if errors:
            field, message = next(iter(errors.items()))
            raise AuthError(field, message, errors)
        try:
            rate_limits.limit_email_change(db, user_id=user.id, ip=ip, now=now)
        except rate_limits.RateLimited as error:
            raise AuthError(NEW_EMAIL_FIELD, str(error)) from error
        _check_password(db, user, password, field=EMAIL_PASSWORD_FIELD,
                        wrong=WRONG_CURRENT_PASSWORD, ip=ip)
        if users.get_user_by_email(db, normalized) is not None:
            raise AuthError(NEW_EMAIL_FIELD, users.EMAIL_TAKEN)
        user = _user(db, user_id)
        token = email_links.issue_link(
            db, user_id=user.id, purpose=CHANGE_EMAIL, email=normalized, now=now
        )
        db.commit()
    log.info("user %s asked to change their email; link mailed to the new address", user.id)
    email_links.mail_link(
        OutgoingLink(purpose=CHANGE_EMAIL, to=normalized, token=token, name=user.name)
    )
    email_links.mail_link(OutgoingLink(
        purpose=EMAIL_CHANGE_NOTICE, to=user.email, token="", name=user.name,
        new_email=normalized,
    ))
    return EMAIL_CHANGE_SENT.format(email=normalized)


def _check_password(
    db: Session, user: User, password: str, *, field: str, wrong: str, ip: str
) -> None:
    """`users.authenticate` for this account, its refusal put on `field`. A failure is
    committed by `authenticate` (it must count even when the caller rolls back), and the
    same throttles and rate limits as at sign-in apply."""
    try:
        users.authenticate(db, email=user.email, password=password, ip=ip)
    except ThrottledError as error:
        raise AuthError(field, error.message) from error
    except rate_limits.RateLimited as error:
        raise AuthError(field, str(error)) from error
    except AuthError as error:
        raise AuthError(field, wrong) from error


# -- signed-in devices -----------------------------------------------------------------------


def describe_device(user_agent: str | None) -> str:
    """A short name for the browser of a User-Agent header: "Chrome on Linux"."""
    text = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in text), "")
    system = next((name for token, name in _SYSTEMS if token in text), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"A browser on {system}" if system else UNKNOWN_DEVICE)


def devices(
    db: Session, *, user_id: str, current_token: str | None, now: datetime | None = None
) -> list[Device]:
    """The user's signed-in browsers, newest first, the asking one marked `current`."""
    current_hash = sign_in_sessions.hash_token(current_token) if current_token else None
    return [
        Device(
            session_id=row.id,
            description=describe_device(row.user_agent),
            signed_in_at=row.created_at,
            current=row.token_hash == current_hash,
        )
        for row in sign_in_sessions.live_sessions(db, user_id=user_id, now=now)
    ]


def sign_out_device(
    db: Session, *, user_id: str, session_id: str, current_token: str | None
) -> bool:
    """Sign out one of the user's other browsers; False when it is not one (anyone else's
    session, this browser's own, or already gone). Caller commits."""
    return sign_in_sessions.revoke_sessions(
        db, user_id=user_id, only_id=session_id, except_token=current_token
    ) == 1


def sign_out_everywhere(db: Session, *, user_id: str) -> int:
    """Sign out every browser of the user, the asking one included; how many. Caller commits."""
    return sign_in_sessions.revoke_sessions(db, user_id=user_id)


# -- deleting the account --------------------------------------------------------------------


def deleted_email(user_id: str) -> str:
    """The placeholder email of a deleted account: unique, and undeliverable."""
    return f"deleted-{user_id}@{DELETED_EMAIL_DOMAIN}"


def has_upcoming_lessons(db: Session, *, user_id: str, now: datetime | None = None) -> bool:
    """Whether a paid lesson of the user is still scheduled and not over yet."""
    now = now or clock.now()
    return db.exec(
        select(Booking.id).where(
            col(Booking.user_id) == user_id,
            col(Booking.status) == BookingStatus.SCHEDULED,
            col(Booking.end_time) > now,
        )
    ).first() is not None


def delete_account(
    *, user_id: str, confirmation: str, ip: str, now: datetime | None = None
) -> DeletedAccount:
    """Delete the account: confirmed by its password (or the word DELETE when it has none).

    Refused (AuthError on "confirm") while a paid lesson is still to come. Otherwise, in one
    write transaction: every sign-in session revoked; OpenID identities, the calendar
    connection and pending OAuth states deleted; live holds released; the user's bookings kept
    with their email and note cleared; the user row anonymised (placeholder email, no name,
    password or zone, `deleted_at`, role student). After the commit the calendar grant is
    revoked at Google (best effort). Owns its transactions.
    """
    now = now or clock.now()
    with app_db.session() as db:
        user = _user(db, user_id)
        if has_upcoming_lessons(db, user_id=user_id, now=now):
            raise AuthError(CONFIRM_FIELD, UPCOMING_LESSONS)
        if has_password(user):
            if not confirmation:
                raise AuthError(CONFIRM_FIELD, CONFIRM_WITH_PASSWORD)
            _check_password(db, user, confirmation, field=CONFIRM_FIELD, ip=ip,
                            wrong=WRONG_CURRENT_PASSWORD)
        elif confirmation.strip() != DELETE_WORD:
            raise AuthError(CONFIRM_FIELD, CONFIRM_WITH_WORD)
        db.commit()
    with app_db.write_session() as db:
        user = _user(db, user_id)
        # Again inside the write transaction: a lesson booked meanwhile still refuses.
        if has_upcoming_lessons(db, user_id=user_id, now=now):
            raise AuthError(CONFIRM_FIELD, UPCOMING_LESSONS)
        released = _release_holds(db, user_id=user_id, now=now)
        calendar_token = _forget_everything_but_lessons(db, user=user, now=now)
        db.commit()
    if calendar_token is not None:
        _revoke_calendar_grant(calendar_token)
    log.info("user %s deleted their account", user_id)
    return DeletedAccount(released_sessions=released)


def _release_holds(db: Session, *, user_id: str, now: datetime) -> list[str]:
    """Release the user's live holds (their slots go back on offer); their checkout sessions.
    Every hold's note is cleared."""
    sessions = db.exec(
        select(SlotHold.checkout_session_id).where(
            col(SlotHold.user_id) == user_id, col(SlotHold.status) == HoldStatus.ACTIVE
        )
    ).all()
    db.execute(
        sa.update(SlotHold)
        .where(col(SlotHold.user_id) == user_id, col(SlotHold.status) == HoldStatus.ACTIVE)
        .values(status=HoldStatus.RELEASED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        sa.update(SlotHold).where(col(SlotHold.user_id) == user_id).values(note="")
        .execution_options(synchronize_session=False)
    )
    return [session_id for session_id in sessions if session_id]


def _forget_everything_but_lessons(db: Session, *, user: User, now: datetime) -> str | None:
    """Everything personal of the account, gone; the encrypted calendar token, if there was
    one, to revoke after the commit."""
    sign_in_sessions.revoke_sessions(db, user_id=user.id, now=now)
    connection = db.exec(
        select(CalendarConnection).where(col(CalendarConnection.user_id) == user.id)
    ).first()
    calendar_token = connection.encrypted_token if connection is not None else None
    for table, owner in (
        (CalendarConnection, CalendarConnection.user_id),
        (OAuthIdentity, OAuthIdentity.user_id),
        (OAuthState, OAuthState.user_id),
    ):
        db.execute(
            sa.delete(table).where(col(owner) == user.id)
            .execution_options(synchronize_session=False)
        )
    db.execute(
        sa.delete(LoginThrottle).where(col(LoginThrottle.email) == user.email)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        sa.update(Booking)
        .where(col(Booking.user_id) == user.id)
        .values(customer_email=None, note="", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    user.email = deleted_email(user.id)
    user.name = ""
    user.password_hash = None
    user.timezone = None
    user.email_verified = False
    user.role = Role.STUDENT.value
    user.tutor_id = None
    user.deleted_at = now
    _save(db, user, now=now)
    return calendar_token


def _revoke_calendar_grant(ciphertext: str) -> None:
    with contextlib.suppress(TokenDecryptError):  # unreadable: nothing left to revoke
        oauth.revoke(decrypt_token(ciphertext))


# -- shared ----------------------------------------------------------------------------------


def _user(db: Session, user_id: str) -> User:
    user = db.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise AccountGone(user_id)
    return user


def _save(db: Session, user: User, *, now: datetime | None = None) -> User:
    user.updated_at = now or clock.now()
    db.add(user)
    db.flush()
    return user
