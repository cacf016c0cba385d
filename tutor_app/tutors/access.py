"""Who may see and change a tutor's lessons and settings: the one answer to "whose portal is
this".

A user runs a tutor profile when their role is "tutor" and `User.tutor_id` names it; an admin
may open any tutor's portal by choosing its id. Anyone else (a student, a tutor asking for
another tutor's id, a signed-out visitor) gets None, which every page, state and route turns
into the same "not found" as an id that does not exist, so nothing tells them apart.
"""

from __future__ import annotations

from sqlmodel import Session

from tutor_app.core.models import Role, Tutor, User


def tutor_for_user(db: Session, user: User | None, *, tutor_id: str | None = None
                   ) -> Tutor | None:
    """The tutor profile `user` may act for, else None.

    A tutor gets their own profile (hidden from the directory or not: their lessons are still
    theirs); asking for another `tutor_id` gets None. An admin gets the profile `tutor_id`
    names (None without one). A deleted account runs nothing.
    """
    if user is None or user.deleted_at is not None:
        return None
    if user.role == Role.TUTOR:
        if not user.tutor_id or (tutor_id and tutor_id != user.tutor_id):
            return None
        return db.get(Tutor, user.tutor_id)
    if user.role == Role.ADMIN and tutor_id:
        return db.get(Tutor, tutor_id)
    return None
