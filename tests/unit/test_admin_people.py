"""The admin's tutors and accounts: deactivating hides a tutor and flags their booked lessons,
reactivating lists them again; a disabled account is refused by every way in; an admin cannot
lock themselves out; every action is in the audit log with its reason, before and after."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from tests.factories import TUTOR, lesson_start, make_booking, make_tutor_user, make_user
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import token_in
from tutor_app.accounts import email_links, passwords, sign_in_sessions, users
from tutor_app.accounts.password_reset import request_reset, reset_password
from tutor_app.accounts.users import ACCOUNT_DISABLED, AuthError
from tutor_app.admin import audit
from tutor_app.admin import tutors as admin_tutors
from tutor_app.admin import users as admin_users
from tutor_app.admin.access import NotAdmin
from tutor_app.admin.audit import ReasonRequired
from tutor_app.catalog import tutor_catalog
from tutor_app.core import routes
from tutor_app.core.models import AuditEntry, Booking, BookingStatus, Role, Tutor, User
from tutor_app.core.settings import Settings

IP = "198.51.100.7"
PASSWORD = "correct horse battery"


def _admin(session: Session) -> User:
    return make_user(session, email="boss@example.com", role=Role.ADMIN)


def _entries(session: Session) -> list[AuditEntry]:
    session.expire_all()
    return list(audit.entries(session))


# -- tutors ----------------------------------------------------------------------------------


def test_deactivating_hides_the_tutor_and_flags_their_booked_lessons(session: Session) -> None:
    admin = _admin(session)
    student = make_user(session)
    upcoming = make_booking(session, start=lesson_start(days=3, hour=21), user=student)
    make_booking(session, start=lesson_start(days=-3, hour=21), user=student,
                 status=BookingStatus.COMPLETED)
    assert TUTOR in [t.id for t in tutor_catalog.list_tutors(session)]

    admin_tutors.set_active(session, actor=admin, tutor_id=TUTOR, active=False,
                            reason="left the school")
    session.commit()

    assert TUTOR not in [t.id for t in tutor_catalog.list_tutors(session)]
    assert tutor_catalog.get_tutor(session, TUTOR) is None  # the wizard's lookup
    lesson = session.get(Booking, upcoming.id)
    assert lesson is not None and lesson.status == BookingStatus.SCHEDULED  # it stays
    assert [b.id for b in admin_tutors.follow_up_lessons(session)] == [upcoming.id]
    row = next(r for r in admin_tutors.tutor_rows(session) if r.tutor.id == TUTOR)
    assert (row.listed, row.follow_up) == (False, 1)
    [entry] = _entries(session)
    assert (entry.action, entry.target_id, entry.reason) == (
        "tutor.deactivate", TUTOR, "left the school")
    assert entry.before is not None and entry.before["active"] is True
    assert entry.after is not None and entry.after["active"] is False
    assert entry.after["lessons_to_follow_up"] == 1
    assert entry.actor_email == admin.email


def test_reactivating_lists_the_tutor_again_and_clears_the_flag(session: Session) -> None:
    admin = _admin(session)
    make_booking(session, start=lesson_start(days=3, hour=21), user=make_user(session))
    admin_tutors.set_active(session, actor=admin, tutor_id=TUTOR, active=False, reason="away")
    session.commit()
    with pytest.raises(admin_tutors.AdminTutorError, match="already deactivated"):
        admin_tutors.set_active(session, actor=admin, tutor_id=TUTOR, active=False, reason="x")

    admin_tutors.set_active(session, actor=admin, tutor_id=TUTOR, active=True, reason="back")
    session.commit()

    assert TUTOR in [t.id for t in tutor_catalog.list_tutors(session)]
    assert admin_tutors.follow_up_lessons(session) == []
    assert [e.action for e in _entries(session)] == ["tutor.reactivate", "tutor.deactivate"]


def test_the_list_shows_every_tutor_and_what_a_profile_lacks(session: Session) -> None:
    admin = _admin(session)
    tutor = admin_tutors.create_tutor(session, actor=admin, name="  Ada  Lovelace ",
                                      timezone="Europe/London", reason="new hire")
    session.commit()
    make_tutor_user(session, email="james@example.com")

    rows = {r.tutor.id: r for r in admin_tutors.tutor_rows(session)}

    assert tutor.id == "ada-lovelace" and tutor.name == "Ada Lovelace"
    new = rows["ada-lovelace"]
    assert not new.listed
    assert new.missing == [admin_tutors.MISSING_RATE, admin_tutors.MISSING_HOURS]
    assert rows[TUTOR].listed and rows[TUTOR].missing == []
    assert rows[TUTOR].accounts == ["james@example.com"]
    [entry] = _entries(session)
    assert (entry.action, entry.target_id, entry.after) == (
        "tutor.create", "ada-lovelace",
        {"name": "Ada Lovelace", "active": True, "timezone": "Europe/London"})


def test_creating_checks_the_name_and_zone_and_needs_a_reason(session: Session) -> None:
    admin = _admin(session)
    with pytest.raises(admin_tutors.AdminTutorError) as error:
        admin_tutors.create_tutor(session, actor=admin, name=" ", timezone="UTC", reason="r")
    assert error.value.field == "name"
    with pytest.raises(admin_tutors.AdminTutorError) as error:
        admin_tutors.create_tutor(session, actor=admin, name="Ada", timezone="Mars/Base",
                                  reason="r")
    assert error.value.field == "timezone"
    with pytest.raises(ReasonRequired):
        admin_tutors.create_tutor(session, actor=admin, name="Ada", timezone="UTC", reason=" ")
    session.rollback()
    assert session.get(Tutor, "ada") is None and _entries(session) == []


def test_inviting_goes_through_the_invitation_and_is_audited(
    session: Session, mailbox: SmtpServer
) -> None:
    admin = _admin(session)
    admin_tutors.invite(session, actor=admin, email="New@Example.com", tutor_id=None,
                        reason="hired")

    assert any("new@example.com" in m.rcpt_tos for m in mailbox.messages)
    [entry] = _entries(session)
    assert (entry.action, entry.after) == (
        "tutor.invite", {"email": "new@example.com", "tutor_id": None})


def test_a_refused_invitation_leaves_no_audit_entry(session: Session) -> None:
    admin = _admin(session)
    with pytest.raises(AuthError):
        admin_tutors.invite(session, actor=admin, email="boss@example.com", tutor_id=None,
                            reason="oops")  # an admin's email
    session.rollback()
    assert _entries(session) == []


def test_a_non_admin_cannot_act(session: Session) -> None:
    student = make_user(session)
    with pytest.raises(NotAdmin):
        admin_tutors.set_active(session, actor=student, tutor_id=TUTOR, active=False,
                                reason="r")
    with pytest.raises(NotAdmin):
        admin_users.disable_user(session, actor=student, user_id=student.id, reason="r")


# -- accounts --------------------------------------------------------------------------------


def _disabled(session: Session, **fields: object) -> tuple[User, User]:
    admin = _admin(session)
    user = make_user(session, email="ann@example.com",
                     password_hash=passwords.hash_password(PASSWORD), email_verified=True,
                     **fields)
    return admin, user


def test_disabling_ends_the_sessions_and_refuses_the_cookie(session: Session) -> None:
    admin, ann = _disabled(session)
    token = sign_in_sessions.create_session(session, user_id=ann.id)
    session.commit()
    assert sign_in_sessions.user_for_token(session, token) is not None

    ended = admin_users.disable_user(session, actor=admin, user_id=ann.id, reason="fraud")
    session.commit()

    assert ended == 1
    assert sign_in_sessions.user_for_token(session, token) is None
    # Even a session row that escaped the revocation signs nobody in.
    fresh = sign_in_sessions.create_session(session, user_id=ann.id)
    session.commit()
    assert sign_in_sessions.user_for_token(session, fresh) is None
    [entry] = _entries(session)
    assert (entry.action, entry.reason) == ("user.disable", "fraud")
    assert entry.before is not None and entry.before["disabled"] is False
    assert entry.after is not None and entry.after["disabled"] is True
    assert entry.after["sessions_ended"] == 1


def test_a_disabled_account_cannot_sign_in_with_its_password(session: Session) -> None:
    admin, ann = _disabled(session)
    admin_users.disable_user(session, actor=admin, user_id=ann.id, reason="fraud")
    session.commit()

    with pytest.raises(AuthError) as error:
        users.authenticate(session, email="ann@example.com", password=PASSWORD, ip=IP)
    assert error.value.message == ACCOUNT_DISABLED
    with pytest.raises(AuthError) as wrong:  # a wrong password learns nothing more
        users.authenticate(session, email="ann@example.com", password="not it at all", ip=IP)
    assert wrong.value.message == users.WRONG_CREDENTIALS

    admin_users.enable_user(session, actor=admin, user_id=ann.id, reason="cleared")
    session.commit()
    assert users.authenticate(session, email="ann@example.com", password=PASSWORD,
                              ip=IP).id == ann.id
    assert [e.action for e in _entries(session)] == ["user.enable", "user.disable"]


def test_a_disabled_account_cannot_sign_in_with_openid(session: Session) -> None:
    admin, ann = _disabled(session)
    users.sign_in_with_oidc(session, provider="google", subject="g-1", email="ann@example.com",
                            email_verified=True)
    session.commit()
    admin_users.disable_user(session, actor=admin, user_id=ann.id, reason="fraud")
    session.commit()

    with pytest.raises(AuthError) as known:  # the linked identity
        users.sign_in_with_oidc(session, provider="google", subject="g-1",
                                email="ann@example.com", email_verified=True)
    assert known.value.message == ACCOUNT_DISABLED
    with pytest.raises(AuthError) as by_email:  # another identity with the same email
        users.sign_in_with_oidc(session, provider="google", subject="g-2",
                                email="ann@example.com", email_verified=True)
    assert by_email.value.message == ACCOUNT_DISABLED
    assert ACCOUNT_DISABLED in users.LOGIN_PAGE_ERRORS


def test_a_disabled_account_gets_no_reset_link_and_an_old_one_is_refused(
    session: Session, mailbox: SmtpServer, configure: Callable[..., Settings]
) -> None:
    configure(APP_URL="https://tutors.example.com")
    admin, ann = _disabled(session)
    request_reset("ann@example.com", ip=IP)
    email_links.wait_idle()
    [mail] = [m for m in mailbox.messages if "ann@example.com" in m.rcpt_tos]
    token = token_in(mail, routes.RESET_PASSWORD)

    admin_users.disable_user(session, actor=admin, user_id=ann.id, reason="fraud")
    session.commit()
    request_reset("ann@example.com", ip="198.51.100.8")
    email_links.wait_idle()
    assert len([m for m in mailbox.messages if "ann@example.com" in m.rcpt_tos]) == 1

    with pytest.raises(AuthError) as error:
        reset_password(token=token, password="a new passphrase", confirm="a new passphrase")
    assert error.value.message == ACCOUNT_DISABLED
    session.expire_all()
    assert session.get(User, ann.id).password_hash == ann.password_hash  # type: ignore[union-attr]


def test_an_admin_cannot_disable_or_demote_themselves(session: Session) -> None:
    admin = _admin(session)
    with pytest.raises(admin_users.AdminUserError, match=admin_users.CANNOT_DISABLE_SELF):
        admin_users.disable_user(session, actor=admin, user_id=admin.id, reason="r")
    with pytest.raises(admin_users.AdminUserError, match=admin_users.CANNOT_DEMOTE_SELF):
        admin_users.change_role(session, actor=admin, user_id=admin.id, role="student",
                                tutor_id=None, reason="r")
    session.rollback()
    assert _entries(session) == []
    session.expire_all()
    assert session.get(User, admin.id).role == Role.ADMIN  # type: ignore[union-attr]


def test_changing_a_role_goes_through_grant_role_and_is_audited(session: Session) -> None:
    admin = _admin(session)
    ann = make_user(session, email="ann@example.com")
    with pytest.raises(admin_users.AdminUserError, match=admin_users.TUTOR_ID_NEEDED):
        admin_users.change_role(session, actor=admin, user_id=ann.id, role="tutor",
                                tutor_id="", reason="r")

    admin_users.change_role(session, actor=admin, user_id=ann.id, role="tutor",
                            tutor_id=TUTOR, reason="runs James's profile")
    session.commit()

    session.expire_all()
    fresh = session.get(User, ann.id)
    assert fresh is not None and (fresh.role, fresh.tutor_id) == (Role.TUTOR, TUTOR)
    [entry] = _entries(session)
    assert entry.action == "user.role"
    assert audit.changes(entry.before, entry.after) == [
        ("role", "student", "tutor"), ("tutor_id", "", TUTOR)]


def test_search_finds_by_email_or_name_a_page_at_a_time(session: Session) -> None:
    for n in range(3):
        make_user(session, email=f"pat{n}@example.com", name=f"Pat {n}")
    make_user(session, email="zed@example.com", name="Pat_Zed")

    assert {u.email for u in admin_users.search_users(session, query="PAT").users} == {
        "pat0@example.com", "pat1@example.com", "pat2@example.com", "zed@example.com"}
    assert [u.email for u in admin_users.search_users(session, query="_").users] == [
        "zed@example.com"]  # a wildcard is a character here
    first = admin_users.search_users(session, query="pat", page_size=3)
    second = admin_users.search_users(session, query="pat", page=1, page_size=3)
    assert first.has_more and not second.has_more
    assert len({u.id for u in first.users + second.users}) == 4


def test_the_audit_log_pages_back_without_skipping_entries_of_one_instant(
    session: Session
) -> None:
    admin = _admin(session)
    for n in range(5):
        audit.record(session, actor=admin, action="user.role", target_type="user",
                     target_id=f"u{n}", reason="r")
    session.commit()
    seen: list[str] = []
    page = list(audit.entries(session, limit=2))
    while page:
        seen += [e.target_id for e in page]
        last = page[-1]
        page = list(audit.entries(session, limit=2, before=last.created_at, before_id=last.id))
    assert sorted(seen) == [f"u{n}" for n in range(5)] and len(seen) == 5
    assert len(list(audit.entries(session, target_id="u3"))) == 1


def test_every_audit_entry_is_one_row_per_action(session: Session) -> None:
    admin = _admin(session)
    ann = make_user(session)
    admin_users.disable_user(session, actor=admin, user_id=ann.id, reason="r")
    session.commit()
    rows = session.exec(select(AuditEntry)).all()
    assert len(rows) == 1 and rows[0].target_id == ann.id
