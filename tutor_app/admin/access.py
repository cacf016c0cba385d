"""Who may use the admin portal: an account with the admin role that is not deleted.

Every admin page, state handler and API route asks `admin_user` on the server, on every call:
anyone else gets "not found", never a glimpse of data (the pages show the ordinary 404
message; the API answers 404).
"""

from __future__ import annotations

from tutor_app.core.models import Role, User


class NotAdmin(Exception):
    """The caller is not an admin; answered exactly like a missing page."""


def is_admin(user: User | None) -> bool:
    return user is not None and user.deleted_at is None and user.role == Role.ADMIN


def admin_user(user: User | None) -> User:
    """`user` when they may use the admin portal; NotAdmin otherwise."""
    if user is None or not is_admin(user):
        raise NotAdmin
    return user
