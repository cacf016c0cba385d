"""`python -m tutor_app.cli create-admin EMAIL`, run as its own process on the test database,
its mail on a real SMTP server: the first admin's way in."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from tests.factories import make_user
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import token_in
from tests.pinned_time import run_cli
from tutor_app.accounts import users
from tutor_app.accounts.password_reset import reset_password
from tutor_app.core import routes
from tutor_app.core.models import Role, User
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]


def _user(session: Session, email: str) -> User | None:
    session.expire_all()
    user = users.get_user_by_email(session, email)
    session.commit()
    return user


def test_a_new_email_becomes_an_admin_account_with_a_link_to_set_its_password(
    session: Session, mailbox: SmtpServer
) -> None:
    # The CLI runs on the test's clock (CLOCK_SHIFT_SECONDS, honoured on a localhost APP_URL
    # only), so the link it mails is live at the test's "now", whatever the date.
    done = run_cli("create-admin", "Boss@Example.com")

    assert done.returncode == 0, done.stderr
    assert "boss@example.com is now admin" in done.stdout
    assert "a link to set a password was mailed to boss@example.com" in done.stdout
    user = _user(session, "boss@example.com")
    assert user is not None and user.role == Role.ADMIN and user.password_hash is None
    [mail] = [m for m in mailbox.messages if "boss@example.com" in m.rcpt_tos]
    token = token_in(mail, routes.RESET_PASSWORD)
    reset_password(token=token, password="a strong passphrase", confirm="a strong passphrase")
    session.expire_all()
    assert users.authenticate(session, email="boss@example.com", password="a strong passphrase",
                              ip="198.51.100.1").role == Role.ADMIN


def test_an_existing_account_becomes_admin_without_a_mail(
    session: Session, mailbox: SmtpServer
) -> None:
    make_user(session, email="ann@example.com", password_hash="x", email_verified=True)

    done = run_cli("create-admin", "ann@example.com")

    assert done.returncode == 0, done.stderr
    user = _user(session, "ann@example.com")
    assert user is not None and user.role == Role.ADMIN
    assert not [m for m in mailbox.messages if "ann@example.com" in m.rcpt_tos]
    assert run_cli("grant-role", "ann@example.com", "admin").returncode == 0


def test_a_bad_email_is_refused(session: Session) -> None:
    done = run_cli("create-admin", "not-an-email")
    assert done.returncode == 2 and users.INVALID_EMAIL in done.stderr
