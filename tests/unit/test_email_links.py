"""Email links: hashed tokens, single use (even racing), lifetimes, newest-wins, delivery."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_user
from tutor_app.accounts import email_links
from tutor_app.accounts.email_links import (
    RESET_PASSWORD,
    RESET_PASSWORD_LIFETIME,
    VERIFY_EMAIL,
    VERIFY_EMAIL_LIFETIME,
    OutgoingLink,
    consume_link,
    issue_link,
    live_link,
)
from tutor_app.accounts.sign_in_sessions import hash_token
from tutor_app.core import clock
from tutor_app.core import db as app_db
from tutor_app.core.models import EmailLink, User


@pytest.fixture
def user(session: Session) -> User:
    return make_user(session, email="ann@example.com", name="Ann")


def _issue(session: Session, user: User, purpose: str = VERIFY_EMAIL, **kwargs: object) -> str:
    token = issue_link(session, user_id=user.id, purpose=purpose, email=user.email,
                       **kwargs)  # type: ignore[arg-type]
    session.commit()
    return token


def test_only_the_sha256_of_the_token_is_stored(session: Session, user: User) -> None:
    token = _issue(session, user, pending_password_hash="$argon2id$...")

    row = session.exec(select(EmailLink)).one()
    assert row.token_hash == hash_token(token) != token
    assert len(token) >= 43  # 256 random bits, url-safe
    assert (row.user_id, row.purpose, row.email) == (user.id, VERIFY_EMAIL, "ann@example.com")
    assert row.pending_password_hash == "$argon2id$..."
    assert row.used_at is None


def test_a_link_works_once(session: Session, user: User) -> None:
    token = _issue(session, user)

    link = consume_link(session, token=token, purpose=VERIFY_EMAIL)
    session.commit()

    assert link is not None and link.user_id == user.id and link.used_at is not None
    assert consume_link(session, token=token, purpose=VERIFY_EMAIL) is None


def test_a_rolled_back_consume_gives_the_link_back(session: Session, user: User) -> None:
    token = _issue(session, user)

    assert consume_link(session, token=token, purpose=VERIFY_EMAIL) is not None
    session.rollback()

    assert consume_link(session, token=token, purpose=VERIFY_EMAIL) is not None


@pytest.mark.parametrize(
    ("purpose", "lifetime", "hours"),
    [(VERIFY_EMAIL, VERIFY_EMAIL_LIFETIME, 48), (RESET_PASSWORD, RESET_PASSWORD_LIFETIME, 1)],
)
def test_a_link_lives_for_its_purposes_lifetime(
    session: Session, user: User, purpose: str, lifetime: timedelta, hours: int
) -> None:
    assert lifetime == timedelta(hours=hours)
    issued = clock.now()
    late = _issue(session, user, purpose, now=issued)
    row = session.exec(select(EmailLink).where(EmailLink.token_hash == hash_token(late))).one()
    assert row.expires_at == issued + lifetime

    assert consume_link(session, token=late, purpose=purpose, now=issued + lifetime) is None
    assert live_link(session, token=late, purpose=purpose,
                     now=issued + lifetime - timedelta(seconds=1)) is not None
    assert consume_link(session, token=late, purpose=purpose,
                        now=issued + lifetime - timedelta(seconds=1)) is not None


def test_expired_used_unknown_and_misused_links_all_answer_none(
    session: Session, user: User
) -> None:
    used = _issue(session, user)
    consume_link(session, token=used, purpose=VERIFY_EMAIL)
    reset = _issue(session, user, RESET_PASSWORD)
    session.commit()
    later = clock.now() + VERIFY_EMAIL_LIFETIME

    for token, purpose, now in [
        (used, VERIFY_EMAIL, None),  # used
        ("no-such-token", VERIFY_EMAIL, None),  # unknown
        ("", VERIFY_EMAIL, None),  # none at all
        (reset, VERIFY_EMAIL, None),  # a reset link is not a verification link
        (reset, RESET_PASSWORD, later),  # expired
    ]:
        assert consume_link(session, token=token, purpose=purpose, now=now) is None
        assert live_link(session, token=token, purpose=purpose, now=now) is None
    assert consume_link(session, token=reset, purpose=RESET_PASSWORD) is not None


def test_a_new_link_voids_the_earlier_ones_of_its_purpose_only(
    session: Session, user: User
) -> None:
    first = _issue(session, user, VERIFY_EMAIL)
    reset = _issue(session, user, RESET_PASSWORD)
    someone_else = _issue(session, make_user(session), VERIFY_EMAIL)

    newest = _issue(session, user, VERIFY_EMAIL)

    assert consume_link(session, token=first, purpose=VERIFY_EMAIL) is None
    assert consume_link(session, token=newest, purpose=VERIFY_EMAIL) is not None
    assert consume_link(session, token=reset, purpose=RESET_PASSWORD) is not None
    assert consume_link(session, token=someone_else, purpose=VERIFY_EMAIL) is not None


def test_void_links_of_every_purpose(session: Session, user: User) -> None:
    tokens = [_issue(session, user, VERIFY_EMAIL), _issue(session, user, RESET_PASSWORD)]

    assert email_links.void_links(session, user_id=user.id) == 2
    session.commit()

    assert consume_link(session, token=tokens[0], purpose=VERIFY_EMAIL) is None
    assert consume_link(session, token=tokens[1], purpose=RESET_PASSWORD) is None


def test_looking_at_a_link_does_not_use_it(session: Session, user: User) -> None:
    token = _issue(session, user, RESET_PASSWORD)

    assert live_link(session, token=token, purpose=RESET_PASSWORD) is not None
    assert live_link(session, token=token, purpose=RESET_PASSWORD) is not None
    assert consume_link(session, token=token, purpose=RESET_PASSWORD) is not None


def test_racing_clicks_on_one_link_get_one_success(session: Session, user: User) -> None:
    """Each click in its own db session and thread, released together: exactly one wins.

    On SQLite every write transaction is serialized anyway; on PostgreSQL (`make
    test-postgres`) a read-then-write consume lets several clicks win, the conditional UPDATE
    only one."""
    clicks = 6

    def click(token: str, start: threading.Barrier, won: list[bool]) -> None:
        start.wait()
        with app_db.session() as db:
            link = consume_link(db, token=token, purpose=VERIFY_EMAIL)
            db.commit()
        won.append(link is not None)

    for _round in range(3):
        token = _issue(session, user)
        start = threading.Barrier(clicks)
        won: list[bool] = []
        threads = [threading.Thread(target=click, args=(token, start, won))
                   for _ in range(clicks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(won) == [False] * (clicks - 1) + [True]


def test_mail_link_reports_a_failure_instead_of_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = OutgoingLink(purpose=VERIFY_EMAIL, to="ann@example.com", token="t")
    sent: list[OutgoingLink] = []

    def broken(_link: OutgoingLink) -> None:
        raise OSError("connection refused")

    real = email_links.mailer()
    try:
        email_links.register_mailer(sent.append)
        assert email_links.mail_link(link) is True
        email_links.register_mailer(broken)
        with caplog.at_level(logging.ERROR, logger="tutor_app.accounts.email_links"):
            assert email_links.mail_link(link) is False
    finally:
        assert real is not None
        email_links.register_mailer(real)

    assert sent == [link]
    assert "verify_email link could not be mailed" in caplog.text
