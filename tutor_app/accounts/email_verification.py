"""Proving an email address: the link mailed at sign-up, opening it, and asking for a new one;
opening the link of an email change.

A new password account is created unverified and signed in at once (it may book), and its
address gets a verification link. An email that belongs to an unclaimed user (made by a
payment, nobody can sign in to it) is never taken over by choosing a password: the chosen
password waits on a link mailed to that address, nobody is signed in (`ConfirmationPending`),
and opening the link sets the password and verifies the email, so the lessons booked under
that user are the account's. Signing up again replaces the waiting link: the newest one wins.

The link of an email change (asked for on `/account`, `account_settings.request_email_change`)
opens on the same page: the account's email becomes the link's address, proven, unless another
user took that address meanwhile (`AddressTaken`: nothing changes).

Opening a link never signs the browser in: whoever opens it may not be whoever asked for it
(someone could send a victim a link to the attacker's own account). Each service here owns its
transaction and mails after the commit (`email_links.mail_link`: a failure is logged and the
answer stands; the person can ask again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tutor_app.accounts import email_links, passwords, users
from tutor_app.accounts.email_links import CHANGE_EMAIL, VERIFY_EMAIL, OutgoingLink
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import EmailLink, User

log = logging.getLogger(__name__)

# A new verification mail at most this often per user: "Resend" cannot flood a mailbox.
RESEND_COOLDOWN = timedelta(minutes=1)

CONFIRM_TO_FINISH = "We sent a link to {email}. Open it to finish creating your account."
EMAIL_CONFIRMED = "Your email address is confirmed."
EMAIL_CHANGED = "Your email address is now {email}."
ADDRESS_TAKEN = "Another account uses {email} now, so your email address was not changed."
LINK_DEAD = "This link has expired or was already used."
NEW_LINK_SENT = (
    "We sent a new link to {email}. It works for "
    f"{email_links.VERIFY_EMAIL_LIFETIME // timedelta(hours=1)} hours."
)
LINK_JUST_SENT = "We sent a link to {email} a moment ago. Please check your inbox and spam folder."
ALREADY_CONFIRMED = "Your email address is already confirmed."


class ConfirmationPending(Exception):
    """The sign-up is waiting on its mailbox: nobody is signed in; `message` says so."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.message = CONFIRM_TO_FINISH.format(email=email)
        super().__init__(self.message)


class AddressTaken(Exception):
    """An email change's link was opened, but another user has that address now: the link is
    used up and the account keeps its email; `message` says so."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.message = ADDRESS_TAKEN.format(email=email)
        super().__init__(self.message)


@dataclass(frozen=True)
class Verified:
    """A link opened: whose email, whether it also set their password, and whether it was an
    email change (`email` is then the new address)."""

    user_id: str
    email: str
    password_set: bool
    email_changed: bool = False


def sign_up_with_password(*, email: str, password: str, name: str = "") -> User:
    """Sign up with a password: the new account, to sign in, with a verification link mailed.

    For the email of an unclaimed user, raises ConfirmationPending after mailing that address a
    link that carries the chosen password (hashed), replacing any earlier one. Raises AuthError
    as `users.sign_up` does (a taken email, a bad field).
    """
    normalized, _name = users.sign_up_fields(email, password, name)
    with app_db.session() as db:
        existing = users.get_user_by_email(db, normalized)
        if existing is not None and users.is_unclaimed(db, existing):
            token = email_links.issue_link(
                db, user_id=existing.id, purpose=VERIFY_EMAIL, email=existing.email,
                pending_password_hash=passwords.hash_password(password),
            )
            db.commit()
            log.info("sign-up for unclaimed user %s waits on its mailbox", existing.id)
            email_links.mail_link(OutgoingLink(
                purpose=VERIFY_EMAIL, to=existing.email, token=token, name=existing.name,
                sets_password=True,
            ))
            raise ConfirmationPending(existing.email)
        user = users.sign_up(db, email=email, password=password, name=name)
        token = email_links.issue_link(db, user_id=user.id, purpose=VERIFY_EMAIL, email=user.email)
        db.commit()
    email_links.mail_link(
        OutgoingLink(purpose=VERIFY_EMAIL, to=user.email, token=token, name=user.name)
    )
    return user


def verify_email(token: str, *, now: datetime | None = None) -> Verified | None:
    """Open a verification link: the email is verified (and a sign-up's waiting password set);
    None when the link is unknown, expired, used or no longer the user's address.

    An email change's link makes its address the account's (`_change_email`), or raises
    AddressTaken. Bookings paid with the address and owned by nobody join the account
    (`users.mark_email_verified`). Signs nobody in.
    """
    now = now or clock.now()
    with app_db.session() as db:
        link = email_links.consume_link(
            db, token=token, purpose=(VERIFY_EMAIL, CHANGE_EMAIL), now=now
        )
        if link is not None and link.purpose == CHANGE_EMAIL:
            return _change_email(db, link, now=now)
        user = db.get(User, link.user_id) if link is not None else None
        if link is None or user is None or user.email != link.email:
            db.commit()  # a link to an address the user no longer has stays used
            return None
        # The waiting password is set only while nobody else set one meanwhile (a reset).
        password_set = link.pending_password_hash is not None and user.password_hash is None
        if password_set:
            user.password_hash = link.pending_password_hash
            user.updated_at = now
            db.add(user)
        users.mark_email_verified(db, user, now=now)
        email_links.void_links(db, user_id=user.id, purposes=(VERIFY_EMAIL,), now=now)
        db.commit()
    log.info("user %s verified its email by link%s", user.id,
             " and finished signing up" if password_set else "")
    return Verified(user_id=user.id, email=user.email, password_set=password_set)


def _change_email(db: Session, link: EmailLink, *, now: datetime) -> Verified | None:
    """The opened change link's address becomes the user's email, proven; the user's other
    unused links (all to the old address) stop working. Commits.

    None when the account was deleted meanwhile; AddressTaken, with the link used up and the
    email unchanged, when another user has the address now (checked, and guarded by the unique
    email index against one taking it at the same moment).
    """
    user = db.get(User, link.user_id)
    if user is None or user.deleted_at is not None:
        db.commit()
        return None
    owner = users.get_user_by_email(db, link.email)
    taken = owner is not None and owner.id != user.id
    if not taken:
        try:
            with db.begin_nested():
                user.email = link.email
                user.updated_at = now
                db.add(user)
        except IntegrityError:  # the address was taken a moment ago, maybe elsewhere
            taken = True
    if taken:
        db.commit()  # the link stays used
        log.info("user %s: email change refused, the address is taken", user.id)
        raise AddressTaken(link.email)
    users.mark_email_verified(db, user, now=now)
    email_links.void_links(db, user_id=user.id, now=now)
    db.commit()
    log.info("user %s changed their email by link", user.id)
    return Verified(user_id=user.id, email=user.email, password_set=False, email_changed=True)


def resend_verification(user_id: str, *, now: datetime | None = None) -> str:
    """Mail the user a new verification link (the old ones stop working); what to tell them.

    Nothing is sent when the email is already verified, or when a link went out less than
    RESEND_COOLDOWN ago.
    """
    now = now or clock.now()
    with app_db.session() as db:
        user = db.get(User, user_id)
        if user is None or user.email_verified:
            db.commit()
            return ALREADY_CONFIRMED
        newest = email_links.newest_link(db, user_id=user.id, purpose=VERIFY_EMAIL)
        if newest is not None and now - newest.created_at < RESEND_COOLDOWN:
            db.commit()
            return LINK_JUST_SENT.format(email=user.email)
        token = email_links.issue_link(
            db, user_id=user.id, purpose=VERIFY_EMAIL, email=user.email, now=now
        )
        db.commit()
    email_links.mail_link(
        OutgoingLink(purpose=VERIFY_EMAIL, to=user.email, token=token, name=user.name)
    )
    return NEW_LINK_SENT.format(email=user.email)
