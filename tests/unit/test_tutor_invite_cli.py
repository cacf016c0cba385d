"""`python -m tutor_app.cli invite-tutor EMAIL [--tutor ID]`, and `grant-role ... tutor --tutor
ID` next to it, each run as its own process on the test database, its mail on a real SMTP
server."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select

from tests.factories import make_user
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import link_in, token_in
from tests.pinned_time import app_process_env, run_cli
from tutor_app.accounts import sign_in_sessions
from tutor_app.core import routes
from tutor_app.core.models import Role, TutorInvite, User
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]


def _invitations(session: Session) -> list[TutorInvite]:
    session.expire_all()
    rows = list(session.exec(select(TutorInvite)).all())
    session.commit()
    return rows


def test_invite_tutor_mails_the_link_and_prints_it_on_a_developers_machine(
    session: Session, mailbox: SmtpServer, configure: ConfigureFn
) -> None:
    configure(APP_ENV="dev", APP_URL="http://localhost:3000")

    done = run_cli("invite-tutor", "Ann@Example.com", "--tutor", "maria-garcia")

    assert done.returncode == 0, done.stderr
    assert "invitation to run the tutor profile maria-garcia mailed to ann@example.com" in (
        done.stdout
    )
    [mail] = mailbox.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.com",)
    link = link_in(mail, routes.TUTOR_JOIN)
    assert f"invitation link (local dev only): {link}" in done.stdout
    [row] = _invitations(session)
    assert row.token_hash == sign_in_sessions.hash_token(token_in(mail, routes.TUTOR_JOIN))
    assert (row.email, row.tutor_id, row.invited_by) == ("ann@example.com", "maria-garcia", None)


def test_invite_tutor_never_prints_the_link_elsewhere(
    session: Session, mailbox: SmtpServer, configure: ConfigureFn
) -> None:
    configure(APP_ENV="dev", APP_URL="https://tutorly.example")

    done = run_cli("invite-tutor", "ann@example.com")

    assert done.returncode == 0, done.stderr
    assert "invitation to run a new tutor profile mailed to ann@example.com" in done.stdout
    token = token_in(mailbox.wait_for(1)[0], routes.TUTOR_JOIN)
    assert token not in done.stdout + done.stderr
    assert "/tutor/join" not in done.stdout + done.stderr
    # Away from a developer's machine the process runs on the real clock, not the test's.
    [row] = _invitations(session)
    assert row.token_hash == sign_in_sessions.hash_token(token)


def test_invite_tutor_refusals_and_a_mail_that_failed(
    session: Session, mailbox: SmtpServer, configure: ConfigureFn
) -> None:
    configure(APP_ENV="dev", APP_URL="http://localhost:3000")

    unknown = run_cli("invite-tutor", "ann@example.com", "--tutor", "nobody")
    bad = run_cli("invite-tutor", "not-an-email")
    assert (unknown.returncode, bad.returncode) == (2, 2)
    assert "error: There is no tutor profile with the id 'nobody'." in unknown.stderr
    assert "error: Enter a valid email address" in bad.stderr
    assert _invitations(session) == []

    mailbox.fail_with = "451 4.3.0 try later"
    try:
        failed = run_cli("invite-tutor", "ann@example.com")
    finally:
        mailbox.fail_with = None
    assert failed.returncode == 1
    assert "could not be sent" in failed.stderr
    assert "invitation link (local dev only): http://localhost:3000/tutor/join?token=" in (
        failed.stdout
    )
    assert len(_invitations(session)) == 1


def test_grant_role_tutor_still_links_a_profile(session: Session) -> None:
    user = make_user(session, email="ann@example.com")

    done = run_cli("grant-role", "ann@example.com", "tutor", "--tutor", "maria-garcia",
                   env=app_process_env())

    assert done.returncode == 0, done.stderr
    assert "ann@example.com is now tutor (maria-garcia)" in done.stdout
    session.expire_all()
    granted = session.get(User, user.id)
    assert granted is not None and (granted.role, granted.tutor_id) == (Role.TUTOR,
                                                                         "maria-garcia")
