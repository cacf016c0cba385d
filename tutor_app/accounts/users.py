"""Accounts: sign-up, password sign-in (with throttling), OpenID sign-in and roles.

Every message a person can see is decided here, so the Reflex forms and the JSON API say the
same thing. Emails are compared normalised (trimmed, lower-case), so "Ann@X.com " and
"ann@x.com" are one account.

A user may exist without a password: the Stripe webhook creates one for a paying email that has
no account yet ("unclaimed"). Nobody can sign in to it, and only the mailbox of its email may
take it over: a sign-up with that email mails a link (`accounts.email_verification`), and
opening it sets the password, keeping the row's id, so the lessons already booked under it
become the account's. A password account's email is unverified until a mailed link, a
password reset or a provider vouching for it proves the mailbox (`mark_email_verified`); until
then a booking paid with that email is not attached to it (`booking_owner_by_email`).
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tutor_app.accounts import email_links, passwords, sign_in_sessions
from tutor_app.catalog.tutor_catalog import get_tutor
from tutor_app.core import clock, rate_limits
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking, LoginThrottle, OAuthIdentity, Role, User

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 320

# Throttling: after FREE_FAILURES failures for one email from one client address within
# FAILURE_WINDOW, each further attempt from that address waits BASE_DELAY, doubling per extra
# failure, at most MAX_DELAY. Failures are forgotten after a quiet FAILURE_WINDOW (counted from
# the end of any lock). Keyed per (email, address), so an attacker's failures never delay the
# email's owner signing in from elsewhere; the rate limits in `authenticate` bound guessing
# across addresses and emails.
FREE_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
# A throttle row is deleted once it has had no failure for this long: any lock it set ended
# long ago (MAX_DELAY at most) and its failures are forgotten anyway (FAILURE_WINDOW).
THROTTLE_RETENTION = timedelta(days=1)

INVALID_EMAIL = "Enter a valid email address"
SHORT_PASSWORD = f"Use at least {MIN_PASSWORD_LENGTH} characters"
LONG_PASSWORD = f"Use at most {MAX_PASSWORD_LENGTH} characters"
LONG_NAME = f"Use at most {MAX_NAME_LENGTH} characters"
EMAIL_TAKEN = "An account with this email already exists"
WRONG_CREDENTIALS = "Wrong email or password"
MISSING_PASSWORD = "Enter your password"
UNVERIFIED_EMAIL_CLASH = (
    "An account with this email already exists. Sign in with your password instead."
)
NO_PROVIDER_EMAIL = "Your account at the provider has no email address"
# Shown on /login?error= after a redirect sign-in did not complete.
GOOGLE_FAILED = "Google sign-in failed. Please try again."
GOOGLE_CANCELLED = "Google sign-in was cancelled."
TICKET_EXPIRED = "Your sign-in link expired. Please sign in again."
SIGN_IN_FAILED = "Sign-in failed. Please try again."
# An admin disabled the account: every way in (password, OpenID, a reset link, a cookie) is shut.
ACCOUNT_DISABLED = "This account is disabled. Contact us."
LOGIN_PAGE_ERRORS = frozenset({
    GOOGLE_FAILED, GOOGLE_CANCELLED, TICKET_EXPIRED, SIGN_IN_FAILED, UNVERIFIED_EMAIL_CLASH,
    NO_PROVIDER_EMAIL, ACCOUNT_DISABLED,
})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")


class AuthError(Exception):
    """A sign-up or sign-in refused, with the form field and the message to show next to it.

    `errors` holds every field's message when several are wrong at once (a sign-up with a bad
    email and a short password shows both); `field`/`message` are the first of them.
    """

    def __init__(self, field: str, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.errors = errors or {field: message}


class ThrottledError(AuthError):
    """Too many failed sign-ins for one email from one address; `retry_after` is in whole
    seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("password", rate_limits.retry_message(retry_after))
        self.retry_after = retry_after


class RoleError(ValueError):
    """A role could not be granted; the message says why (used by the CLI)."""


def is_disabled(user: User | None) -> bool:
    """Whether an admin disabled the account (see ACCOUNT_DISABLED): nobody may sign in to it."""
    return user is not None and user.disabled_at is not None


def normalize_email(email: str) -> str:
    """The form emails are stored and compared in: trimmed and lower-case."""
    return email.strip().lower()


def validate_email(email: str) -> str:
    """The normalised email, or AuthError("email", ...) when it cannot be an address."""
    normalized = normalize_email(email)
    if not normalized or len(normalized) > MAX_EMAIL_LENGTH or not _EMAIL.match(normalized):
        raise AuthError("email", INVALID_EMAIL)
    return normalized


def validate_password(password: str) -> None:
    """Length rules only: length is what makes a password strong; composition rules do not."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("password", SHORT_PASSWORD)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError("password", LONG_PASSWORD)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if len(cleaned) > MAX_NAME_LENGTH:
        raise AuthError("name", LONG_NAME)
    return cleaned


def validate_name(name: str) -> str:
    """The name as it is stored (spaces tidied), or AuthError("name", ...) when too long.

    Sign-up's rule, also applied when the name is changed on the account page.
    """
    return _clean_name(name)


def get_user_by_email(db: Session, email: str) -> User | None:
    """The user with this email (normalised before the lookup), or None."""
    return db.exec(select(User).where(col(User.email) == normalize_email(email))).first()


def _has_identity(db: Session, user_id: str) -> bool:
    return (
        db.exec(select(OAuthIdentity.id).where(col(OAuthIdentity.user_id) == user_id)).first()
        is not None
    )


def is_unclaimed(db: Session, user: User) -> bool:
    """Whether nobody can sign in to the user: no password and no OpenID identity (a user the
    payment webhook created for a paying email). A deleted account is never claimable."""
    return (
        user.password_hash is None and user.deleted_at is None
        and not _has_identity(db, user.id)
    )


def sign_up_fields(email: str, password: str, name: str) -> tuple[str, str]:
    """(normalised email, tidied name); AuthError carrying every wrong field's message."""
    errors: dict[str, str] = {}
    normalized = clean_name = ""
    try:
        normalized = validate_email(email)
    except AuthError as error:
        errors[error.field] = error.message
    try:
        validate_password(password)
    except AuthError as error:
        errors[error.field] = error.message
    try:
        clean_name = _clean_name(name)
    except AuthError as error:
        errors[error.field] = error.message
    if errors:
        field, message = next(iter(errors.items()))
        raise AuthError(field, message, errors)
    return normalized, clean_name


def sign_up(db: Session, *, email: str, password: str, name: str = "") -> User:
    """Create a new account with a password; its email is unverified until a link proves it.

    Any user with this email already, unclaimed ones included, is "already exists": an
    unclaimed user is taken over only through its mailbox
    (`email_verification.sign_up_with_password` mails it a link), never by choosing a
    password. Raises AuthError with the field to blame. Caller commits.
    """
    normalized, clean_name = sign_up_fields(email, password, name)
    if get_user_by_email(db, normalized) is not None:
        raise AuthError("email", EMAIL_TAKEN)
    user = User(email=normalized, name=clean_name, password_hash=passwords.hash_password(password))
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError as exc:  # the same email signed up a moment ago, maybe elsewhere
        raise AuthError("email", EMAIL_TAKEN) from exc
    log.info("user %s signed up", user.id)
    return user


def authenticate(
    db: Session, *, email: str, password: str, ip: str, now: datetime | None = None
) -> User:
    """The user whose email and password these are; AuthError (or ThrottledError) otherwise.

    `ip` is the client's address (`rate_limits.address_key`). Failures are counted per
    (email, address), the email existing or not, so the throttle does not reveal accounts and
    an unknown email costs the same Argon2 time as a wrong password. Before that, the address's
    attempts across all emails, and then the email's attempts that the throttle let through,
    are rate limited (`rate_limits.RateLimited`).

    Commits as it goes: the rate-limit hits, and a failure (they must survive the caller
    rolling back on the error); the read transaction also ends before the Argon2 verification,
    so no lock is held through it. On success the throttle's reset and any rehash are left for
    the caller to commit.
    """
    now = now or clock.now()
    normalized = validate_email(email)
    if not password:
        raise AuthError("password", MISSING_PASSWORD)
    rate_limits.check(db, (rate_limits.SIGN_IN_PER_ADDRESS, ip), now=now)
    wait = _throttle_wait(db, normalized, ip, now)
    if wait is not None:
        raise ThrottledError(wait)
    user = get_user_by_email(db, normalized)
    rate_limits.check(db, (rate_limits.SIGN_IN_PER_EMAIL, normalized), now=now)
    if user is None or user.password_hash is None or len(password) > MAX_PASSWORD_LENGTH:
        passwords.dummy_verify(password[:MAX_PASSWORD_LENGTH])
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password)
    if not ok or user is None:
        _record_failure(db, normalized, ip, now)
        db.commit()
        raise AuthError("password", WRONG_CREDENTIALS)
    if is_disabled(user):  # told only to whoever knows the password
        raise AuthError("form", ACCOUNT_DISABLED)
    if user.password_hash is not None and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        db.add(user)
    db.execute(
        sa.delete(LoginThrottle).where(
            col(LoginThrottle.email) == normalized, col(LoginThrottle.ip) == ip
        )
    )
    db.flush()
    return user


def _lock_delay(failures: int) -> timedelta:
    extra = failures - FREE_FAILURES
    doubling: int = 2 ** min(extra, 16)
    return min(BASE_DELAY * doubling, MAX_DELAY)


def _throttle_wait(db: Session, email: str, ip: str, now: datetime) -> int | None:
    """Seconds this email must still wait before another attempt from this address, or None
    when it may try."""
    row = db.get(LoginThrottle, {"email": email, "ip": ip})
    if row is None or row.failures < FREE_FAILURES:
        return None
    remaining = (row.last_failure_at + _lock_delay(row.failures) - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else None


def _forgotten(row: LoginThrottle | None, now: datetime) -> bool:
    """Whether earlier failures no longer count: a quiet FAILURE_WINDOW after any lock ended.

    Measured from the end of the lock, so a 15-minute lock is not also a clean slate.
    """
    if row is None:
        return True
    delay = _lock_delay(row.failures) if row.failures >= FREE_FAILURES else timedelta(0)
    return now - row.last_failure_at >= delay + FAILURE_WINDOW


def delete_stale_throttles(*, now: datetime | None = None) -> int:
    """Delete the throttles with no failure for THROTTLE_RETENTION; how many. Owns its
    transaction; the periodic "sweep" job calls it."""
    cutoff = (now or clock.now()) - THROTTLE_RETENTION
    with app_db.write_session() as db:
        result = db.execute(
            sa.delete(LoginThrottle).where(col(LoginThrottle.last_failure_at) < cutoff)
        )
        db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _record_failure(db: Session, email: str, ip: str, now: datetime) -> None:
    """Count one failure of (email, address) with a single upsert, so concurrent failures are
    all counted.

    When the earlier failures are forgotten (see `_forgotten`) the count starts again at 1.
    """
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    row = db.get(LoginThrottle, {"email": email, "ip": ip})
    restart = _forgotten(row, now)
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(email=email, ip=ip, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.email, table.c.ip],
        set_={
            "failures": sa.literal(1) if restart else table.c.failures + 1,
            "last_failure_at": stmt.excluded.last_failure_at,
        },
    )
    db.execute(stmt)
    if row is not None:
        db.expire(row)  # the upsert bypassed the ORM: reload it on next access


def find_or_create_by_email(db: Session, *, email: str, name: str = "") -> User:
    """The user with this email, or a new password-less ("unclaimed") one. Caller commits.

    For the payment webhook, through `booking_owner_by_email`; the mailbox of the email
    takes over the row and its bookings later (a sign-up's link, a reset, a provider).
    """
    normalized = validate_email(email)
    user = get_user_by_email(db, normalized)
    if user is not None:
        return user
    user = User(email=normalized, name=" ".join(name.split())[:MAX_NAME_LENGTH])
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:  # created concurrently: use that row
        existing = get_user_by_email(db, normalized)
        if existing is None:
            raise
        return existing
    log.info("unclaimed user %s created", user.id)
    return user


def booking_owner_by_email(db: Session, *, email: str, name: str = "") -> User | None:
    """The user a paid booking found only by its payer's email belongs to, or None.

    A verified account, or an unclaimed user (created now when the email has no user):
    nobody can sign in to that one, and the mailbox proving itself later takes it over. An
    account whose email was never verified gets nothing: whoever signed it up may not own
    the mailbox. Its booking stays with `customer_email` and joins the account when the
    email is verified (`mark_email_verified`). AuthError when the email is unusable. Caller
    commits.
    """
    user = find_or_create_by_email(db, email=email, name=name)
    if user.email_verified or is_unclaimed(db, user):
        return user
    return None


def mark_email_verified(db: Session, user: User, *, now: datetime | None = None) -> int:
    """Record that the user's mailbox is proven, and attach the bookings paid with that email
    that belong to no user yet (see `booking_owner_by_email`); how many. Caller commits."""
    now = now or clock.now()
    if not user.email_verified:
        user.email_verified = True
        user.updated_at = now
        db.add(user)
        db.flush()
        log.info("user %s email verified", user.id)
    result = db.execute(
        sa.update(Booking)
        .where(
            col(Booking.user_id).is_(None),
            sa.func.lower(sa.func.trim(col(Booking.customer_email))) == user.email,
        )
        .values(user_id=user.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    attached = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if attached:
        log.info("user %s: %d booking(s) paid with the email attached", user.id, attached)
    return attached


def sign_in_with_oidc(
    db: Session,
    *,
    provider: str,
    subject: str,
    email: str | None,
    email_verified: bool,
    name: str = "",
) -> User:
    """The user for an OpenID identity, linking or creating one as needed. Caller commits.

    Known (provider, subject): that user. Otherwise an account with the same email is linked
    only when the provider vouches for the email (email_verified); an unverified email that
    matches an account is refused rather than merged, since anyone can put any address on an
    account at some providers. Otherwise a new user is created.

    Linking to an account whose own email was never verified hands it to the mailbox's owner:
    whoever signed it up first may have used someone else's address, so its password is
    cleared, its sign-in sessions everywhere are ended and its unused email links voided,
    before the email is marked verified.
    """
    identity = db.exec(
        select(OAuthIdentity).where(
            col(OAuthIdentity.provider) == provider, col(OAuthIdentity.subject) == subject
        )
    ).first()
    if identity is not None:
        user = db.get(User, identity.user_id)
        if user is not None:
            if is_disabled(user):
                raise AuthError("email", ACCOUNT_DISABLED)
            return user
    if not email:
        raise AuthError("email", NO_PROVIDER_EMAIL)
    normalized = validate_email(email)
    clean_name = " ".join(name.split())[:MAX_NAME_LENGTH]
    user = get_user_by_email(db, normalized)
    if user is not None:
        if is_disabled(user):
            raise AuthError("email", ACCOUNT_DISABLED)
        if not email_verified:
            raise AuthError("email", UNVERIFIED_EMAIL_CLASH)
        if not user.email_verified:
            _hand_to_the_mailbox_owner(db, user, provider)
        if not user.name and clean_name:
            user.name = clean_name
        user.updated_at = clock.now()
        db.add(user)
        mark_email_verified(db, user)
        log.info("user %s linked to a %s identity", user.id, provider)
    else:
        user = User(email=normalized, name=clean_name, email_verified=bool(email_verified))
        db.add(user)
        db.flush()
        log.info("user %s created from a %s identity", user.id, provider)
    db.add(OAuthIdentity(user_id=user.id, provider=provider, subject=subject, email=normalized))
    db.flush()
    return user


def _hand_to_the_mailbox_owner(db: Session, user: User, provider: str) -> None:
    """Take an unverified account from whoever holds it now: no password, no sign-in session
    anywhere, no link still waiting to be opened."""
    had_password = user.password_hash is not None
    user.password_hash = None
    db.add(user)
    db.flush()
    sessions = sign_in_sessions.revoke_sessions(db, user_id=user.id)
    links = email_links.void_links(db, user_id=user.id)
    log.warning(
        "user %s: unverified email proven by a %s identity; password cleared (had one: %s), "
        "%d sign-in session(s) revoked, %d email link(s) voided",
        user.id, provider, had_password, sessions, links,
    )


def grant_role(db: Session, *, email: str, role: str, tutor_id: str | None = None) -> User:
    """Give the user with this email a role; a tutor is tied to a catalog tutor. Caller commits.

    Any other role drops the tutor link, so a former tutor no longer sees that tutor's portal.
    """
    try:
        wanted = Role(role)
    except ValueError as exc:
        choices = ", ".join(r.value for r in Role)
        raise RoleError(f"unknown role {role!r} (choose from {choices})") from exc
    user = get_user_by_email(db, email)
    if user is None:
        raise RoleError(f"no user with email {normalize_email(email)!r}; they must sign up first")
    if wanted is Role.TUTOR:
        if not tutor_id:
            raise RoleError("the tutor role needs a catalog tutor id (--tutor ID)")
        if get_tutor(db, tutor_id) is None:
            raise RoleError(f"no active tutor with id {tutor_id!r} in the catalog")
        user.tutor_id = tutor_id
    else:
        user.tutor_id = None
    user.role = wanted.value
    user.updated_at = clock.now()
    db.add(user)
    db.flush()
    return user
