"""`/admin/tutors`, `/admin/users` and `/admin/audit` driven without a browser: every handler
refuses a non-admin (nothing shown, nothing changed), and an admin's actions land with their
reason in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from tests.factories import TUTOR, make_user, session_cookie
from tests.state.handlers import run, state_on
from tutor_app.admin.audit import REASON_REQUIRED
from tutor_app.core import routes
from tutor_app.core.models import AuditEntry, Role, Tutor, User
from tutor_app.pages import admin_tutors as admin_tutors_page
from tutor_app.state.admin_audit import AdminAuditState
from tutor_app.state.admin_tutors import AdminTutorsState
from tutor_app.state.admin_users import AdminUsersState

PAGES: list[tuple[type[Any], str]] = [
    (AdminTutorsState, routes.ADMIN_TUTORS),
    (AdminUsersState, routes.ADMIN_USERS),
    (AdminAuditState, routes.ADMIN_AUDIT),
]
# Every handler with arguments that would act, were the caller an admin.
HANDLERS: dict[type[Any], list[tuple[str, tuple[Any, ...]]]] = {
    AdminTutorsState: [
        ("load", ()),
        ("create", ({"name": "Ada", "timezone": "UTC", "reason": "r"},)),
        ("invite", ({"email": "new@example.com", "tutor_id": "", "reason": "r"},)),
        ("deactivate", ({"tutor_id": TUTOR, "reason": "r"},)),
        ("reactivate", ({"tutor_id": TUTOR, "reason": "r"},)),
    ],
    AdminUsersState: [
        ("load", ()),
        ("search", ({"q": "example"},)),
        ("next_page", ()),
        ("previous_page", ()),
        ("change_role", ({"user_id": "VICTIM", "role": "admin", "tutor_id": "",
                          "reason": "r"},)),
        ("disable", ({"user_id": "VICTIM", "reason": "r"},)),
        ("enable", ({"user_id": "VICTIM", "reason": "r"},)),
    ],
    AdminAuditState: [
        ("load", ()),
        ("apply_filters", ({"action": "", "day": ""},)),
        ("older", ()),
        ("newest", ()),
    ],
}


def _state(cls: type[Any], route: str, session: Session, user: User | None) -> Any:
    cookie = session_cookie(session, user) if user else ""
    return state_on(cls, route, cookie=cookie, route=route)


@pytest.mark.parametrize("who", ["signed out", "student", "tutor"])
@pytest.mark.parametrize(("cls", "route"), PAGES)
def test_every_handler_refuses_a_non_admin(
    session: Session, database: Any, who: str, cls: type[Any], route: str
) -> None:
    make_user(session, email="boss@example.com", role=Role.ADMIN)
    audit_entry = AuditEntry(action="user.role", target_type="user", target_id="x", reason="r")
    session.add(audit_entry)
    session.commit()
    victim = make_user(session, email="victim@example.com")
    user = {"signed out": None, "student": make_user(session),
            "tutor": make_user(session, role=Role.TUTOR, tutor_id=TUTOR)}[who]
    state = _state(cls, route, session, user)
    if cls is AdminUsersState:
        state.has_more = True  # as if a page were shown: still nothing may load
    if cls is AdminAuditState:
        state.has_older = True

    for name, args in HANDLERS[cls]:
        args = tuple({k: (victim.id if v == "VICTIM" else v) for k, v in a.items()}
                     if isinstance(a, dict) else a for a in args)
        run(getattr(state, name)(*args))
        assert not state.allowed, name
        assert state.rows == [], name

    session.expire_all()
    assert session.get(User, victim.id).role == Role.STUDENT  # type: ignore[union-attr]
    assert session.get(User, victim.id).disabled_at is None  # type: ignore[union-attr]
    tutor = session.get(Tutor, TUTOR)
    assert tutor is not None and tutor.active
    assert session.get(Tutor, "ada") is None
    assert len(session.exec(select(AuditEntry)).all()) == 1  # only the one made above


def test_the_new_tutor_form_offers_every_zone_without_keeping_them_in_state() -> None:
    # The zones are the same for everyone: in the page, not in each visitor's state (where
    # they were loaded and saved in Redis around every event of every visitor).
    form = str(admin_tutors_page._create_form())
    assert all(zone in form for zone in ("UTC", "Europe/Rome", "America/New_York"))
    assert not any("Europe/Rome" in str(value) for value in AdminTutorsState().dict().values())


def test_an_admin_deactivates_a_tutor_with_a_reason(session: Session, database: Any) -> None:
    admin = make_user(session, email="boss@example.com", role=Role.ADMIN)
    state = _state(AdminTutorsState, routes.ADMIN_TUTORS, session, admin)
    run(state.load())
    assert state.allowed and state.loaded
    row = next(r for r in state.rows if r["id"] == TUTOR)
    assert row["listed"] == "Listed" and row["profile_url"] == f"/tutor/profile?tutor={TUTOR}"

    run(state.deactivate({"tutor_id": TUTOR, "reason": ""}))
    assert state.error == REASON_REQUIRED
    run(state.deactivate({"tutor_id": TUTOR, "reason": "on leave"}))

    assert state.error == "" and "deactivated" in state.message
    assert next(r for r in state.rows if r["id"] == TUTOR)["listed"] == "Deactivated"
    audit_state = _state(AdminAuditState, routes.ADMIN_AUDIT, session, admin)
    run(audit_state.load())
    [entry] = audit_state.rows
    assert (entry["action"], entry["reason"], entry["actor"]) == (
        "tutor.deactivate", "on leave", "boss@example.com")
    assert "active: yes → no" in entry["changes"]


def test_an_admin_disables_an_account_but_not_their_own(session: Session, database: Any) -> None:
    admin = make_user(session, email="boss@example.com", role=Role.ADMIN)
    ann = make_user(session, email="ann@example.com")
    state = _state(AdminUsersState, routes.ADMIN_USERS, session, admin)
    run(state.load())
    run(state.search({"q": "ann@"}))
    assert [r["email"] for r in state.rows] == ["ann@example.com"]

    run(state.disable({"user_id": admin.id, "reason": "oops"}))
    assert "your own account" in state.error
    run(state.disable({"user_id": ann.id, "reason": "chargebacks"}))
    assert state.error == "" and state.rows[0]["disabled"]

    audit_state = _state(AdminAuditState, routes.ADMIN_AUDIT, session, admin)
    run(audit_state.load())
    run(audit_state.apply_filters({"action": "user.disable", "target_type": "",
                                   "target_id": "", "actor_email": "", "day": "2026-13-01"}))
    assert audit_state.filter_error
    run(audit_state.apply_filters({"action": "user.disable", "target_type": "",
                                   "target_id": ann.id, "actor_email": "BOSS@example.com",
                                   "day": ""}))
    assert [r["reason"] for r in audit_state.rows] == ["chargebacks"]
