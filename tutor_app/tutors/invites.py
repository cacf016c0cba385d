"""Inviting a tutor: a single-use link, mailed to an address, to run a tutor profile.

An admin (the CLI until the admin portal exists) invites an email, for an existing profile or
for a new one made when the invitation is accepted (`invite_tutor`, the one way to invite).
Only the token's SHA-256 is stored; the link lives INVITE_LIFETIME, and a new invitation for
the same email voids the earlier unused ones, so only the newest one mailed works.

Accepting makes the account a tutor of that profile (`users.grant_role`'s rules). The account
must have the invited email: the link proves that mailbox, the signed-in session proves the
account, and the admin invited an address, not whoever happens to hold the link (a forwarded
mail must not make the forwardee's account a tutor). Holding the link proves the mailbox as a
verification link does, so accepting also marks the email verified. Signed out, the invitee
creates the account right here (verified, since the link proves the mailbox), or takes over
the unclaimed user a payment made for that email; an account that anyone can already sign in
to is signed in to first.

Accepting is a single conditional UPDATE (`... WHERE used_at IS NULL AND expires_at > now`)
in the same transaction as its effect: of two clicks racing, on any workers, exactly one gets
the invitation, and a rollback gives it back. Expired, used, voided and unknown tokens all
give the same message. Looking at an invitation (`invite_details`) never uses it.

Mail is a layer above, so the message goes through a mailer that `tutor_app.wiring` registers
(`mail.tutor_invite_mail.send_invite`), right after the invitation is committed.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tutor_app.accounts import account_settings, passwords, users
from tutor_app.accounts.sign_in_sessions import hash_token, new_token
from tutor_app.accounts.users import AuthError, RoleError
from tutor_app.catalog.tutor_catalog import FALLBACK_PHOTO, get_tutor
from tutor_app.core import clock, rate_limits, timefmt
from tutor_app.core import db as app_db
from tutor_app.core.hooks import Hook
from tutor_app.core.models import Role, Tutor, TutorInvite, User
from tutor_app.core.settings import PRODUCT_NAME

log = logging.getLogger(__name__)

INVITE_LIFETIME = timedelta(days=7)
# A new profile's name while its account has none; the tutor changes it on their profile.
NEW_PROFILE_NAME = "New tutor"
TEAM = f"The {PRODUCT_NAME} team"  # who invited, when the invitation came from the CLI

INVITE_DEAD = "This invitation has expired or was already used. Ask for a new one."
WRONG_ACCOUNT = (
    "This invitation is for {email}. You are signed in as {signed_in}: sign out, then open "
    "the link again."
)
PROFILE_GONE = "The tutor profile of this invitation no longer exists. Ask for a new one."
ADMIN_ACCOUNT = "An admin account cannot also run a tutor profile."
ACCOUNT_EXISTS = (
    "An account with this email already exists. Sign in to accept the invitation."
)
NAME_NEEDED = "Enter your name"
# Refusals of `invite_tutor`, for the person inviting.
UNKNOWN_PROFILE = "There is no tutor profile with the id {tutor_id!r}."
ALREADY_RUNS = "{email} already runs this tutor profile."
INVITE_AN_ADMIN = "{email} is an admin account; an admin cannot also run a tutor profile."
NOT_MAILED = (
    "The invitation for {email} is saved, but its email could not be sent. Invite again to "
    "send a new one."
)

_SLUG_LENGTH = 48


class InviteError(AuthError):
    """An invitation refused; `message` says why. Its field is "invite", unless the refusal is
    about a form field (the email when inviting; the name or password when accepting)."""

    def __init__(self, message: str, field: str = "invite",
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(field, message, errors)


class InviteNotMailed(Exception):
    """The invitation is stored, but its email did not go out; `token` is its link's."""

    def __init__(self, email: str, token: str) -> None:
        self.email = email
        self.token = token
        self.message = NOT_MAILED.format(email=email)
        super().__init__(self.message)


@dataclass(frozen=True)
class OutgoingInvite:
    """An invitation to mail, with what its message needs; built after its row is stored."""

    to: str
    token: str
    inviter: str
    profile_name: str | None  # None: the invitee creates a new profile


@dataclass(frozen=True)
class InviteDetails:
    """What the invitation page shows before anything is accepted."""

    email: str
    inviter: str
    profile_name: str | None  # None: a new profile is made on acceptance
    expires_at: datetime


# -- inviting ----------------------------------------------------------------------------------


def invite_tutor(
    db: Session,
    *,
    email: str,
    tutor_id: str | None = None,
    invited_by: str | None = None,
    now: datetime | None = None,
) -> str:
    """Invite `email` to run the profile `tutor_id` (None: a new one, made on acceptance) and
    mail the link; returns its token.

    `invited_by` is the inviting admin's user id (None from the CLI). Raises InviteError for a
    bad email, an unknown or hidden profile, an admin's email, or the email of the account
    that already runs the profile. Commits `db` (the invitation must exist before its link is
    mailed), then mails at once; InviteNotMailed when the mail could not go out (the
    invitation stays; inviting again mails a new link and voids this one).
    """
    now = now or clock.now()
    try:
        normalized = users.validate_email(email)
    except AuthError as error:
        raise InviteError(error.message, field="email") from error
    profile = None
    if tutor_id is not None:
        profile = get_tutor(db, tutor_id)
        if profile is None:
            raise InviteError(UNKNOWN_PROFILE.format(tutor_id=tutor_id), field="tutor_id")
    existing = users.get_user_by_email(db, normalized)
    if existing is not None and existing.role == Role.ADMIN:
        raise InviteError(INVITE_AN_ADMIN.format(email=normalized), field="email")
    if (
        existing is not None and profile is not None and existing.role == Role.TUTOR
        and existing.tutor_id == profile.id
    ):
        raise InviteError(ALREADY_RUNS.format(email=normalized), field="email")
    _void_invites(db, email=normalized, now=now)
    token = new_token()
    db.add(TutorInvite(
        token_hash=hash_token(token), email=normalized, tutor_id=tutor_id,
        invited_by=invited_by, created_at=now, expires_at=now + INVITE_LIFETIME,
    ))
    inviter = _inviter_name(db, invited_by)
    db.commit()
    log.info("tutor invitation stored for %s (%s)", normalized,
             f"profile {tutor_id}" if tutor_id else "a new profile")
    _mail(OutgoingInvite(to=normalized, token=token, inviter=inviter,
                         profile_name=profile.name if profile else None))
    return token


def _void_invites(db: Session, *, email: str, now: datetime) -> int:
    """Mark the email's unused invitations as used (voided: `accepted_by` stays empty)."""
    result = db.execute(
        sa.update(TutorInvite)
        .where(col(TutorInvite.email) == email, col(TutorInvite.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _inviter_name(db: Session, user_id: str | None) -> str:
    inviter = db.get(User, user_id) if user_id else None
    if inviter is None:
        return TEAM
    return inviter.name or inviter.email


# -- looking -----------------------------------------------------------------------------------


def _live_invite(db: Session, token: str, now: datetime) -> TutorInvite | None:
    if not token:
        return None
    return db.exec(
        select(TutorInvite).where(
            col(TutorInvite.token_hash) == hash_token(token),
            col(TutorInvite.used_at).is_(None),
            col(TutorInvite.expires_at) > now,
        )
    ).first()


def invite_details(token: str, *, now: datetime | None = None) -> InviteDetails | None:
    """The invitation of `token` while it can be accepted, else None (one answer for expired,
    used, voided and unknown). Only looks: accepting is what uses it."""
    now = now or clock.now()
    with app_db.read_session() as db:
        invite = _live_invite(db, token, now)
        if invite is None:
            return None
        profile = db.get(Tutor, invite.tutor_id) if invite.tutor_id else None
        return InviteDetails(
            email=invite.email, inviter=_inviter_name(db, invite.invited_by),
            profile_name=profile.name if profile else None, expires_at=invite.expires_at,
        )


# -- accepting ---------------------------------------------------------------------------------


def accept_invite(
    db: Session, *, token: str, user: User, zone: str | None = None, now: datetime | None = None
) -> Tutor:
    """Make `user` (a row of `db`) the tutor of the invitation's profile, a new one when it
    names none; the profile. Caller commits; a rollback gives the invitation back.

    `zone` (the browser's `tz` cookie) becomes a new profile's time zone, else UTC. Raises
    InviteError: INVITE_DEAD, WRONG_ACCOUNT (another email than the invited one, checked
    before the invitation is used), PROFILE_GONE, ADMIN_ACCOUNT.
    """
    now = now or clock.now()
    invite = _live_invite(db, token, now)
    if invite is None:
        raise InviteError(INVITE_DEAD)
    if user.email != invite.email or user.deleted_at is not None:
        raise InviteError(WRONG_ACCOUNT.format(email=invite.email, signed_in=user.email))
    if user.role == Role.ADMIN:
        raise InviteError(ADMIN_ACCOUNT)
    profile = get_tutor(db, invite.tutor_id) if invite.tutor_id else None
    if invite.tutor_id and profile is None:
        raise InviteError(PROFILE_GONE)
    if not _claim(db, invite_id=invite.id, user_id=user.id, now=now):
        raise InviteError(INVITE_DEAD)  # accepted a moment ago, maybe on another worker
    if profile is None:
        profile = new_profile(db, name=user.name, zone=zone, now=now)
    try:
        users.grant_role(db, email=user.email, role=Role.TUTOR, tutor_id=profile.id)
    except RoleError as error:
        raise InviteError(PROFILE_GONE) from error
    users.mark_email_verified(db, user, now=now)
    log.info("user %s accepted a tutor invitation for profile %s", user.id, profile.id)
    return profile


def _claim(db: Session, *, invite_id: str, user_id: str, now: datetime) -> bool:
    """Use the invitation, once: the arbiter of racing acceptances. A concurrent claim waits
    for this transaction (PostgreSQL's row lock, SQLite's write lock), then matches nothing."""
    result = db.execute(
        sa.update(TutorInvite)
        .where(
            col(TutorInvite.id) == invite_id,
            col(TutorInvite.used_at).is_(None),
            col(TutorInvite.expires_at) > now,
        )
        .values(used_at=now, accepted_by=user_id)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def slug_for(name: str) -> str:
    """A profile id from a name: "José Núñez" -> "jose-nunez"; "tutor" when nothing is left."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return slug[:_SLUG_LENGTH].strip("-") or "tutor"


def new_profile(db: Session, *, name: str, zone: str | None, now: datetime) -> Tutor:
    """An empty profile named after the account (or the name an admin gave it): listed nowhere
    until its tutor sets a rate and hours (the directory hides incomplete profiles). Its id is
    the name's slug, numbered or suffixed when taken (by any profile, hidden ones included:
    bookings keep their ids)."""
    display = name.strip() or NEW_PROFILE_NAME
    base = slug_for(display)
    candidates = [base, *(f"{base}-{n}" for n in range(2, 10))]
    candidates += [f"{base}-{secrets.token_hex(3)}" for _ in range(3)]
    for candidate in candidates:
        if db.get(Tutor, candidate) is not None:
            continue
        profile = Tutor(
            id=candidate, name=display, photo_url=FALLBACK_PHOTO, subjects=[],
            hourly_rate_cents=0, bio="", timezone=timefmt.safe_zone(zone), weekly_hours={},
            active=True, updated_at=now,
        )
        try:
            with db.begin_nested():
                db.add(profile)
        except IntegrityError:  # the same id made a moment ago by another acceptance
            continue
        return profile
    raise RuntimeError(f"no free profile id for {base!r}")


def accept_signed_in(
    *, user_id: str, token: str, zone: str | None = None, now: datetime | None = None
) -> Tutor:
    """The signed-in account `user_id` accepts the invitation of `token` (see
    `accept_invite`); the profile it now runs."""
    with app_db.session() as db:
        user = db.get(User, user_id)
        if user is None:
            raise InviteError(INVITE_DEAD)
        profile = accept_invite(db, token=token, user=user, zone=zone, now=now)
        db.commit()
    return profile


def join_fields(name: str, password: str) -> str:
    """The tidied name of "Create the account"; InviteError carrying every wrong field's
    message (the name is required: students see it)."""
    errors: dict[str, str] = {}
    clean_name = ""
    try:
        clean_name = users.validate_name(name)
        if not clean_name:
            errors["name"] = NAME_NEEDED
    except AuthError as error:
        errors[error.field] = error.message
    try:
        users.validate_password(password)
    except AuthError as error:
        errors[error.field] = error.message
    if errors:
        field, message = next(iter(errors.items()))
        raise InviteError(message, field=field, errors=errors)
    return clean_name


def create_account_and_accept(
    *, token: str, name: str, password: str, ip: str, zone: str | None = None,
    now: datetime | None = None,
) -> User:
    """Signed out: create the invited email's account with this password and accept the
    invitation in the same transaction; the user, to sign in.

    The account is created verified (the link proves the mailbox). An unclaimed user of the
    email (made by a payment; nobody can sign in to it) becomes this account, keeping its
    lessons. An account someone can already sign in to is not touched: ACCOUNT_EXISTS (sign
    in, then accept). Raises InviteError (a field or the invitation), RateLimited (counted as
    a sign-up of the invited email, from `ip`), HashingBusy.
    """
    clean_name = join_fields(name, password)
    now = now or clock.now()
    with app_db.read_session() as db:
        invite = _live_invite(db, token, now)
        invited_email = invite.email if invite is not None else None
    if invited_email is None:
        raise InviteError(INVITE_DEAD)
    with app_db.session() as db:
        rate_limits.limit_sign_up(db, email=invited_email, ip=ip, now=now)
    password_hash = passwords.hash_password(password)  # Argon2 before the write transaction
    with app_db.session() as db:
        user = users.get_user_by_email(db, invited_email)
        if user is None:
            user = User(email=invited_email, name=clean_name, password_hash=password_hash)
            try:
                with db.begin_nested():
                    db.add(user)
            except IntegrityError as exc:
                # The same email signed up a moment ago: by this very invitation (a second
                # click), or otherwise.
                if _live_invite(db, token, now) is None:
                    raise InviteError(INVITE_DEAD) from exc
                raise InviteError(ACCOUNT_EXISTS, field="form") from exc
        elif users.is_unclaimed(db, user):
            user.password_hash = password_hash
            user.name = clean_name
            user.updated_at = now
            db.add(user)
        else:
            raise InviteError(ACCOUNT_EXISTS, field="form")
        accept_invite(db, token=token, user=user, zone=zone, now=now)
        account_settings.remember_zone(db, user_id=user.id, zone=zone)
        db.commit()
    log.info("user %s created its account from a tutor invitation", user.id)
    return user


# -- delivery ----------------------------------------------------------------------------------

Mailer = Callable[[OutgoingInvite], object]

_mailer: Hook[Mailer] = Hook("the sender of tutor invitations")


def register_mailer(fn: Mailer) -> None:
    """Send every invitation through `fn` (which raises when the message could not go out).
    Registering again replaces it."""
    _mailer.register(fn)


def mailer() -> Mailer | None:
    """The registered mailer, if any."""
    return _mailer.get()


def _mail(invite: OutgoingInvite) -> None:
    """Send the invitation's message now; InviteNotMailed when it could not go out."""
    fn = mailer()
    if fn is None:
        log.error("no mailer registered: tutor invitation not sent")
        raise InviteNotMailed(invite.to, invite.token)
    try:
        fn(invite)
    except Exception as exc:
        log.exception("tutor invitation could not be mailed")
        raise InviteNotMailed(invite.to, invite.token) from exc
    log.info("tutor invitation mailed")
