"""Tutor invitations: inviting (token stored hashed, 7-day lifetime, the newest one the only
one that works, mailed at once), and accepting (once; for an existing or a new profile; only
by the invited email's account; creating that account, verified, from the link).

Racing acceptances on PostgreSQL: `test_tutor_invites_postgresql.py`. The CLI:
`test_tutor_invite_cli.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.factories import make_booking, make_tutor_user, make_user
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import link_in, token_in
from tutor_app.accounts import sign_in_sessions, users
from tutor_app.catalog.tutor_catalog import list_tutors
from tutor_app.core import clock, routes
from tutor_app.core import db as app_db
from tutor_app.core.models import Booking, Role, Tutor, TutorInvite, User
from tutor_app.tutors import invites
from tutor_app.tutors.invites import (
    ACCOUNT_EXISTS,
    ADMIN_ACCOUNT,
    INVITE_DEAD,
    INVITE_LIFETIME,
    NAME_NEEDED,
    InviteError,
    InviteNotMailed,
    OutgoingInvite,
)

PASSWORD = "correct horse battery"
PROFILE = "maria-garcia"  # in tests/data/tutors.json
PROFILE_NAME = "María García"
IP = "203.0.113.9"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[OutgoingInvite]]:
    """The invitations mailed during the test, collected instead of sent."""
    outbox: list[OutgoingInvite] = []
    real = invites.mailer()
    invites.register_mailer(outbox.append)
    yield outbox
    assert real is not None
    invites.register_mailer(real)


def _invite(session: Session, email: str = "ann@example.com", tutor_id: str | None = PROFILE,
            invited_by: str | None = None) -> str:
    token = invites.invite_tutor(session, email=email, tutor_id=tutor_id, invited_by=invited_by)
    session.commit()
    return token


def _invite_rows(session: Session) -> list[TutorInvite]:
    session.expire_all()
    rows = list(session.exec(select(TutorInvite).order_by(sa.text("created_at"))).all())
    session.commit()
    return rows


def _fresh(session: Session, row: User) -> User:
    session.expire_all()
    fresh = session.get(User, row.id)
    session.commit()
    assert fresh is not None
    return fresh


def _tutors(session: Session) -> dict[str, Tutor]:
    session.expire_all()
    found = {t.id: t for t in session.exec(select(Tutor)).all()}
    session.commit()
    return found


# -- inviting ----------------------------------------------------------------------------------


def test_only_the_sha256_of_the_token_is_stored(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    token = _invite(session, email=" Ann@Example.com ")

    [row] = _invite_rows(session)
    assert row.token_hash == sign_in_sessions.hash_token(token)
    assert token not in {row.token_hash, row.id}
    assert row.email == "ann@example.com"
    assert row.tutor_id == PROFILE
    assert row.expires_at - row.created_at == INVITE_LIFETIME
    assert [(m.to, m.token, m.profile_name) for m in sent] == [
        ("ann@example.com", token, PROFILE_NAME)
    ]


def test_a_new_invitation_voids_the_earlier_unused_ones(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    first = _invite(session)
    second = _invite(session, tutor_id=None)
    other = _invite(session, email="bob@example.com")

    assert invites.invite_details(first) is None
    details = invites.invite_details(second)
    assert details is not None and details.profile_name is None
    assert invites.invite_details(other) is not None
    ann = make_user(session, email="ann@example.com")
    with pytest.raises(InviteError) as refused:
        invites.accept_signed_in(user_id=ann.id, token=first)
    assert refused.value.message == INVITE_DEAD
    invites.accept_signed_in(user_id=ann.id, token=second)


@pytest.mark.parametrize(("arrange", "email", "tutor_id", "field"), [
    (None, "not an email", PROFILE, "email"),
    (None, "ann@example.com", "nobody-by-that-id", "tutor_id"),
    ("admin", "ann@example.com", None, "email"),
    ("runs it", "ann@example.com", PROFILE, "email"),
])
def test_invitations_refused(
    session: Session, sent: list[OutgoingInvite], arrange: str | None, email: str,
    tutor_id: str | None, field: str,
) -> None:
    if arrange == "admin":
        make_user(session, email="ann@example.com", role=Role.ADMIN)
    elif arrange == "runs it":
        make_tutor_user(session, tutor_id=PROFILE, email="ann@example.com")

    with pytest.raises(InviteError) as refused:
        invites.invite_tutor(session, email=email, tutor_id=tutor_id)

    assert refused.value.field == field
    session.rollback()
    assert _invite_rows(session) == []
    assert sent == []


def test_a_hidden_profile_cannot_be_offered(session: Session, sent: list[OutgoingInvite]) -> None:
    tutor = session.get(Tutor, PROFILE)
    assert tutor is not None
    tutor.active = False
    session.add(tutor)
    session.commit()

    with pytest.raises(InviteError, match="no tutor profile"):
        invites.invite_tutor(session, email="ann@example.com", tutor_id=PROFILE)


def test_the_invitation_is_mailed_at_once_with_its_link(
    session: Session, mailbox: SmtpServer
) -> None:
    admin = make_user(session, email="boss@example.com", name="Olga Admin", role=Role.ADMIN)

    token = _invite(session, invited_by=admin.id)

    [mail] = mailbox.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.com",)
    assert mail["Subject"] == "You are invited to teach on Tutorly"
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Olga Admin invited you to run the tutor profile of {PROFILE_NAME}" in text
    assert "for 7 days" in text
    assert link_in(mail, routes.TUTOR_JOIN).startswith("http://localhost:3000/tutor/join?token=")
    assert token_in(mail, routes.TUTOR_JOIN) == token
    details = invites.invite_details(token)
    assert details is not None
    assert (details.email, details.inviter, details.profile_name) == (
        "ann@example.com", "Olga Admin", PROFILE_NAME
    )


def test_a_mail_that_does_not_go_out_is_reported_and_the_invitation_kept(
    session: Session, mailbox: SmtpServer
) -> None:
    mailbox.fail_with = "451 4.3.0 try later"
    try:
        with pytest.raises(InviteNotMailed) as failed:
            invites.invite_tutor(session, email="ann@example.com", tutor_id=None)
    finally:
        mailbox.fail_with = None

    assert invites.invite_details(failed.value.token) is not None
    assert "could not be sent" in failed.value.message


# -- looking and accepting ---------------------------------------------------------------------


def test_looking_at_an_invitation_does_not_use_it(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    token = _invite(session)

    assert invites.invite_details(token) is not None
    assert invites.invite_details(token) is not None
    [row] = _invite_rows(session)
    assert row.used_at is None


def test_an_invitation_for_an_existing_profile_makes_the_account_its_tutor(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    ann = make_user(session, email="ann@example.com", email_verified=False)
    token = _invite(session)

    profile = invites.accept_signed_in(user_id=ann.id, token=token)

    assert profile.id == PROFILE
    ann = _fresh(session, ann)
    assert (ann.role, ann.tutor_id, ann.email_verified) == (Role.TUTOR, PROFILE, True)
    [row] = _invite_rows(session)
    assert row.used_at is not None and row.accepted_by == ann.id
    assert set(_tutors(session)) == {t.id for t in list_tutors(session)}  # no profile made


def test_an_invitation_works_once(session: Session, sent: list[OutgoingInvite]) -> None:
    ann = make_user(session, email="ann@example.com")
    token = _invite(session)
    invites.accept_signed_in(user_id=ann.id, token=token)

    with pytest.raises(InviteError) as again:
        invites.accept_signed_in(user_id=ann.id, token=token)

    assert again.value.message == INVITE_DEAD
    assert invites.invite_details(token) is None


def test_an_invitation_lives_seven_days(session: Session, sent: list[OutgoingInvite]) -> None:
    ann = make_user(session, email="ann@example.com")
    late = _invite(session, email="ann@example.com")
    on_time = _invite(session, email="bob@example.com")
    bob = make_user(session, email="bob@example.com")

    invited_at = clock.now()

    clock.shift_to(invited_at + INVITE_LIFETIME - timedelta(seconds=30))
    assert invites.invite_details(late) is not None
    invites.accept_signed_in(user_id=bob.id, token=on_time)  # just in time

    clock.shift_to(invited_at + INVITE_LIFETIME + timedelta(seconds=1))
    assert invites.invite_details(late) is None
    with pytest.raises(InviteError) as expired:
        invites.accept_signed_in(user_id=ann.id, token=late)
    assert expired.value.message == INVITE_DEAD
    assert _fresh(session, ann).role == Role.STUDENT


def test_unknown_tokens_get_the_same_answer(database: sa.Engine) -> None:
    assert invites.invite_details("") is None
    assert invites.invite_details("no-such-token") is None
    with app_db.session() as db:
        user = User(email="ann@example.com")
        db.add(user)
        db.commit()
    with pytest.raises(InviteError) as unknown:
        invites.accept_signed_in(user_id=user.id, token="no-such-token")
    assert unknown.value.message == INVITE_DEAD


def test_only_the_invited_emails_account_may_accept(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    mallory = make_user(session, email="mallory@example.com", email_verified=True)
    token = _invite(session)

    with pytest.raises(InviteError) as refused:
        invites.accept_signed_in(user_id=mallory.id, token=token)

    assert refused.value.message == (
        "This invitation is for ann@example.com. You are signed in as mallory@example.com: "
        "sign out, then open the link again."
    )
    assert _fresh(session, mallory).role == Role.STUDENT
    assert invites.invite_details(token) is not None  # not used up by the wrong account


def test_an_admin_account_does_not_become_a_tutor(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    ann = make_user(session, email="ann@example.com")
    token = _invite(session)
    ann.role = Role.ADMIN
    session.add(ann)
    session.commit()

    with pytest.raises(InviteError) as refused:
        invites.accept_signed_in(user_id=ann.id, token=token)

    assert refused.value.message == ADMIN_ACCOUNT
    assert _fresh(session, ann).role == Role.ADMIN
    assert invites.invite_details(token) is not None


def test_a_rolled_back_acceptance_gives_the_invitation_back(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    ann = make_user(session, email="ann@example.com")
    token = _invite(session)

    with app_db.session() as db:
        user = db.get(User, ann.id)
        assert user is not None
        invites.accept_invite(db, token=token, user=user)
        db.rollback()

    assert invites.invite_details(token) is not None
    assert _fresh(session, ann).role == Role.STUDENT


def test_a_new_profile_is_made_from_the_account(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    ann = make_user(session, email="ann@example.com", name="Ánn  O'Brien")
    token = _invite(session, tutor_id=None)

    profile = invites.accept_signed_in(user_id=ann.id, token=token, zone="Europe/Dublin")

    assert profile.id == "ann-o-brien"
    made = _tutors(session)["ann-o-brien"]
    assert made.name == "Ánn  O'Brien"
    assert made.timezone == "Europe/Dublin"
    assert (made.hourly_rate_cents, made.weekly_hours, made.subjects) == (0, {}, [])
    assert made.lesson_durations == Tutor(id="x", name="x", photo_url="", hourly_rate_cents=0,
                                          bio="", timezone="UTC").lesson_durations
    ann = _fresh(session, ann)
    assert (ann.role, ann.tutor_id) == (Role.TUTOR, "ann-o-brien")


def test_a_new_profiles_id_never_takes_an_existing_one(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    first = make_user(session, email="maria1@example.com", name="Maria Garcia")
    second = make_user(session, email="maria2@example.com", name="")
    tokens = [_invite(session, email=u.email, tutor_id=None) for u in (first, second)]

    made = invites.accept_signed_in(user_id=first.id, token=tokens[0], zone="Not/AZone")
    unnamed = invites.accept_signed_in(user_id=second.id, token=tokens[1])

    assert made.id == "maria-garcia-2"  # "maria-garcia" is the catalog's María García
    assert made.timezone == "UTC"
    assert (unnamed.id, unnamed.name) == ("new-tutor", "New tutor")
    assert _tutors(session)[PROFILE].name == PROFILE_NAME


# -- creating the account from the link -------------------------------------------------------


def test_creating_the_account_makes_a_verified_tutor_that_can_sign_in(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    token = _invite(session, tutor_id=None)

    user = invites.create_account_and_accept(
        token=token, name=" Ann  Lee ", password=PASSWORD, ip=IP, zone="Asia/Tokyo"
    )

    user = _fresh(session, user)
    assert (user.email, user.name, user.email_verified) == ("ann@example.com", "Ann Lee", True)
    assert (user.role, user.tutor_id) == (Role.TUTOR, "ann-lee")
    assert user.timezone == "Asia/Tokyo"
    assert _tutors(session)["ann-lee"].timezone == "Asia/Tokyo"
    signed_in = users.authenticate(session, email="ann@example.com", password=PASSWORD, ip=IP)
    session.commit()
    assert signed_in.id == user.id
    assert invites.invite_details(token) is None


def test_creating_the_account_takes_over_an_unclaimed_user_and_its_lessons(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    unclaimed = users.find_or_create_by_email(session, email="ann@example.com", name="A")
    session.commit()
    lesson = make_booking(session, start=clock.now() + timedelta(days=3),
                          customer_email="ann@example.com")
    token = _invite(session)

    user = invites.create_account_and_accept(token=token, name="Ann", password=PASSWORD, ip=IP)

    assert user.id == unclaimed.id
    user = _fresh(session, user)
    assert (user.name, user.email_verified, user.role, user.tutor_id) == (
        "Ann", True, Role.TUTOR, PROFILE
    )
    session.expire_all()
    assert session.get(Booking, lesson.id).user_id == user.id  # type: ignore[union-attr]


def test_creating_the_account_leaves_an_existing_account_alone(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    owner = users.sign_up(session, email="ann@example.com", password="the owner's password")
    session.commit()
    token = _invite(session)

    with pytest.raises(InviteError) as refused:
        invites.create_account_and_accept(token=token, name="Mallory", password=PASSWORD, ip=IP)

    assert (refused.value.field, refused.value.message) == ("form", ACCOUNT_EXISTS)
    owner = _fresh(session, owner)
    assert (owner.name, owner.role) == ("", Role.STUDENT)
    assert invites.invite_details(token) is not None


def test_creating_the_account_checks_every_field_and_keeps_the_invitation(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    token = _invite(session)

    with pytest.raises(InviteError) as refused:
        invites.create_account_and_accept(token=token, name="  ", password="short", ip=IP)

    assert refused.value.errors == {"name": NAME_NEEDED,
                                    "password": users.SHORT_PASSWORD}
    assert users.get_user_by_email(session, "ann@example.com") is None
    session.commit()
    assert invites.invite_details(token) is not None


def test_creating_the_account_with_a_dead_link_creates_nothing(
    session: Session, sent: list[OutgoingInvite]
) -> None:
    token = _invite(session)
    _invite(session)  # voids the first

    with pytest.raises(InviteError) as refused:
        invites.create_account_and_accept(token=token, name="Ann", password=PASSWORD, ip=IP)

    assert refused.value.message == INVITE_DEAD
    assert users.get_user_by_email(session, "ann@example.com") is None
