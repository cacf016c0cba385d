"""Forgotten passwords: a one-hour, single-use link mailed to the account's address.

Asking (`request_reset`) always gives the same answer, whether the address has an account or
not, and takes about the same time: the same lookup and commit either way, and the mail (the
slow part) goes out on a worker thread after the answer (`email_links.mail_link_soon`).

Using the link (`reset_password`) sets the password, marks the email verified (the mailbox is
proven), ends every sign-in session of the user on every device (whoever knew the old password
is out) and voids the user's other unused links. It works for accounts without a password too
(Google-only, unclaimed): the mailbox is what counts. It signs nobody in: the browser goes on
to sign in with the new password.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tutor_app.accounts import email_links, passwords, sign_in_sessions, users
from tutor_app.accounts.email_links import RESET_PASSWORD, OutgoingLink
from tutor_app.accounts.users import AuthError
from tutor_app.core import clock, rate_limits
from tutor_app.core import db as app_db
from tutor_app.core.models import User

log = logging.getLogger(__name__)

# "one hour": email_links.RESET_PASSWORD_LIFETIME.
RESET_LINK_SENT = (
    "If an account exists for {email}, we sent a link to reset its password. "
    "It works for one hour."
)
PASSWORDS_DIFFER = "The two passwords are not the same"
RESET_LINK_DEAD = "This link has expired or was already used. Ask for a new one."
PASSWORD_CHANGED = "Your password has been changed. Sign in with your new password."


def request_reset(email: str, *, ip: str, now: datetime | None = None) -> str:
    """Mail a reset link to the account with this email, if there is one; the answer to show,
    the same either way. AuthError only for an address that cannot be one;
    `rate_limits.RateLimited` when the address `ip` or this email asked too often (counted
    whether or not the account exists, so the limit reveals nothing either)."""
    normalized = users.validate_email(email)
    answer = RESET_LINK_SENT.format(email=normalized)
    with app_db.session() as db:
        rate_limits.limit_password_reset(db, email=normalized, ip=ip, now=now)
    with app_db.session() as db:
        user = users.get_user_by_email(db, normalized)
        token = None
        if user is not None and not users.is_disabled(user):  # same answer: nothing sent
            token = email_links.issue_link(
                db, user_id=user.id, purpose=RESET_PASSWORD, email=user.email, now=now
            )
        db.commit()
    if user is None or token is None:
        log.info("password reset asked for an address without an enabled account: nothing sent")
        return answer
    log.info("password reset link issued for user %s", user.id)
    email_links.mail_link_soon(
        OutgoingLink(purpose=RESET_PASSWORD, to=user.email, token=token, name=user.name)
    )
    return answer


def reset_link_is_live(token: str) -> bool:
    """Whether the reset link can still be used (the page shows its form, or says it is not)."""
    with app_db.read_session() as db:
        return email_links.live_link(db, token=token, purpose=RESET_PASSWORD) is not None


def reset_password(
    *, token: str, password: str, confirm: str, now: datetime | None = None
) -> User:
    """Use a reset link: the user, whose password is now `password`. Raises AuthError by the
    field (`password`, `confirm`) for a bad new password, leaving the link usable, or on
    `form` (RESET_LINK_DEAD) when the link is unknown, expired, used or for an old address.
    """
    users.validate_password(password)
    if confirm != password:
        raise AuthError("confirm", PASSWORDS_DIFFER)
    password_hash = passwords.hash_password(password)  # Argon2 before the write transaction
    now = now or clock.now()
    with app_db.session() as db:
        link = email_links.consume_link(db, token=token, purpose=RESET_PASSWORD, now=now)
        user = db.get(User, link.user_id) if link is not None else None
        if link is None or user is None or user.email != link.email:
            db.commit()  # a link to an address the user no longer has stays used
            raise AuthError("form", RESET_LINK_DEAD)
        if users.is_disabled(user):  # a link mailed before the account was disabled
            db.rollback()
            raise AuthError("form", users.ACCOUNT_DISABLED)
        user.password_hash = password_hash
        user.updated_at = now
        db.add(user)
        users.mark_email_verified(db, user, now=now)
        sessions = sign_in_sessions.revoke_sessions(db, user_id=user.id, now=now)
        email_links.void_links(db, user_id=user.id, now=now)
        db.commit()
    log.info("user %s reset its password; %d sign-in session(s) ended", user.id, sessions)
    return user
