"""The admin's accounts: find one (email or name, a page at a time), change its role, disable
it and enable it again.

Roles change through `accounts.users.grant_role`, the one way (the CLI's `grant-role` too).
Disabling sets `User.disabled_at` and revokes every sign-in session of the account at once;
from then on `accounts` refuses every way in (password, OpenID, a reset link, a cookie) with
`users.ACCOUNT_DISABLED`. An admin can neither disable their own account nor take away their
own admin role, so the portal cannot lock its last admin out by a slip.

Every action needs a reason and writes its audit entry (`admin.audit.record`, before and
after) in the caller's transaction; the caller commits. No Reflex here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tutor_app.accounts import sign_in_sessions, users
from tutor_app.accounts.users import RoleError
from tutor_app.admin import access, audit
from tutor_app.core import clock
from tutor_app.core.models import Role, User

PAGE_SIZE = 25
MAX_QUERY_LENGTH = 100

NO_SUCH_USER = "There is no such account."
CANNOT_DISABLE_SELF = "You cannot disable your own account."
CANNOT_DEMOTE_SELF = "You cannot remove your own admin role."
ALREADY_DISABLED = "This account is already disabled."
NOT_DISABLED = "This account is not disabled."
TUTOR_ID_NEEDED = "Choose the tutor profile this account runs."
SAME_ROLE = "The account already has this role."


class AdminUserError(ValueError):
    """An account action refused; the message says why (shown to the admin)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UserPage:
    """One page of a search: the accounts (newest first) and whether more follow."""

    users: list[User]
    page: int
    has_more: bool


def search_users(db: Session, *, query: str = "", page: int = 0,
                 page_size: int = PAGE_SIZE) -> UserPage:
    """The accounts whose email or name contains `query` (any case), newest first, page
    `page` (from 0) of `page_size`."""
    page = max(0, page)
    statement = select(User)
    text = " ".join(query.split())[:MAX_QUERY_LENGTH].lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(sa.or_(
            sa.func.lower(col(User.email)).like(pattern, escape="\\"),
            sa.func.lower(col(User.name)).like(pattern, escape="\\"),
        ))
    statement = statement.order_by(col(User.created_at).desc(), col(User.id).desc())
    rows = list(db.exec(statement.offset(page * page_size).limit(page_size + 1)).all())
    return UserPage(users=rows[:page_size], page=page, has_more=len(rows) > page_size)


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of an account before and after an action."""
    return {
        "email": user.email,
        "role": user.role,
        "tutor_id": user.tutor_id,
        "disabled": user.disabled_at is not None,
    }


def _target(db: Session, user_id: str) -> User:
    user = db.get(User, user_id) if user_id else None
    if user is None or user.deleted_at is not None:
        raise AdminUserError(NO_SUCH_USER)
    return user


def change_role(
    db: Session, *, actor: User, user_id: str, role: str, tutor_id: str | None, reason: str,
) -> User:
    """Give the account `user_id` the role (a tutor runs the profile `tutor_id`), through
    `users.grant_role`, and record it. AdminUserError (or ReasonRequired) when refused: the
    admin's own admin role, an unknown account, a tutor without a profile. Caller commits."""
    access.admin_user(actor)
    reason = audit.clean_reason(reason)
    user = _target(db, user_id)
    if user.id == actor.id and role != Role.ADMIN:
        raise AdminUserError(CANNOT_DEMOTE_SELF)
    if role == Role.TUTOR and not (tutor_id or "").strip():
        raise AdminUserError(TUTOR_ID_NEEDED)
    wanted_tutor = ((tutor_id or "").strip() or None) if role == Role.TUTOR else None
    if user.role == role and user.tutor_id == wanted_tutor:
        raise AdminUserError(SAME_ROLE)
    before = snapshot(user)
    try:
        users.grant_role(db, email=user.email, role=role, tutor_id=wanted_tutor)
    except RoleError as exc:
        raise AdminUserError(str(exc)) from exc
    audit.record(db, actor=actor, action="user.role", target_type="user", target_id=user.id,
                 reason=reason, before=before, after=snapshot(user))
    return user


def disable_user(db: Session, *, actor: User, user_id: str, reason: str,
                 now: datetime | None = None) -> int:
    """Disable the account: nobody signs in to it any more, and every sign-in session it has
    ends now; how many sessions ended. AdminUserError for the admin's own account, an unknown
    or an already disabled one. Caller commits."""
    access.admin_user(actor)
    reason = audit.clean_reason(reason)
    now = now or clock.now()
    user = _target(db, user_id)
    if user.id == actor.id:
        raise AdminUserError(CANNOT_DISABLE_SELF)
    if user.disabled_at is not None:
        raise AdminUserError(ALREADY_DISABLED)
    before = snapshot(user)
    user.disabled_at = now
    user.updated_at = now
    db.add(user)
    db.flush()
    revoked = sign_in_sessions.revoke_sessions(db, user_id=user.id, now=now)
    audit.record(db, actor=actor, action="user.disable", target_type="user", target_id=user.id,
                 reason=reason, before=before, after=snapshot(user) | {"sessions_ended": revoked},
                 now=now)
    return revoked


def enable_user(db: Session, *, actor: User, user_id: str, reason: str,
                now: datetime | None = None) -> User:
    """Let the account sign in again (its old sessions stay ended). Caller commits."""
    access.admin_user(actor)
    reason = audit.clean_reason(reason)
    now = now or clock.now()
    user = _target(db, user_id)
    if user.disabled_at is None:
        raise AdminUserError(NOT_DISABLED)
    before = snapshot(user)
    user.disabled_at = None
    user.updated_at = now
    db.add(user)
    db.flush()
    audit.record(db, actor=actor, action="user.enable", target_type="user", target_id=user.id,
                 reason=reason, before=before, after=snapshot(user), now=now)
    return user
