"""Server-side sessions: opaque tokens, stored hashed, that expire, revoke and hand off once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_user
from tutor_app.accounts import sign_in_sessions
from tutor_app.accounts.sign_in_sessions import (
    HANDOFF_LIFETIME,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    create_handoff,
    create_session,
    redeem_handoff,
    revoke_all_sessions,
    revoke_session,
    safe_next,
    token_from_cookie_header,
    user_for_cookie_header,
    user_for_token,
)
from tutor_app.core import clock
from tutor_app.core.models import SignInSession, User
from tutor_app.core.settings import Settings


@pytest.fixture
def user(session: Session) -> User:
    return make_user(session, email="ann@example.com", name="Ann")


def test_a_new_session_finds_its_user(session: Session, user: User) -> None:
    token = create_session(session, user_id=user.id)
    session.commit()

    found = user_for_token(session, token)

    assert found is not None and found.id == user.id
    assert len(token) >= 43  # 256 bits of randomness, url-safe


def test_only_the_sha256_of_the_token_is_stored(session: Session, user: User) -> None:
    token = create_session(session, user_id=user.id)
    session.commit()

    row = session.exec(select(SignInSession)).one()
    assert row.token_hash == sign_in_sessions.hash_token(token)
    assert len(row.token_hash) == 64
    assert row.token_hash != token


def test_tokens_are_unique(session: Session, user: User) -> None:
    tokens = {create_session(session, user_id=user.id) for _ in range(20)}

    assert len(tokens) == 20


def test_a_session_lasts_thirty_days(session: Session, user: User) -> None:
    now = clock.now()
    token = create_session(session, user_id=user.id, now=now)
    session.commit()

    assert user_for_token(session, token, now=now + SESSION_LIFETIME - timedelta(seconds=1))
    assert user_for_token(session, token, now=now + SESSION_LIFETIME) is None


def test_a_new_session_clears_the_users_expired_rows(session: Session, user: User) -> None:
    long_ago = clock.now() - SESSION_LIFETIME - timedelta(days=1)
    create_session(session, user_id=user.id, now=long_ago)
    create_handoff(session, user_id=user.id, now=long_ago)
    session.commit()

    token = create_session(session, user_id=user.id)
    session.commit()

    rows = session.exec(select(SignInSession)).all()
    assert [r.token_hash for r in rows] == [sign_in_sessions.hash_token(token)]


def test_unknown_or_empty_tokens_find_nobody(session: Session, user: User) -> None:
    create_session(session, user_id=user.id)
    session.commit()

    assert user_for_token(session, "not-a-token") is None
    assert user_for_token(session, "") is None
    assert user_for_token(session, None) is None


def test_a_revoked_session_finds_nobody(session: Session, user: User) -> None:
    token = create_session(session, user_id=user.id)
    other = create_session(session, user_id=user.id)
    session.commit()

    assert revoke_session(session, token=token) is True
    session.commit()

    assert user_for_token(session, token) is None
    assert user_for_token(session, other) is not None  # other devices stay signed in
    assert revoke_session(session, token=token) is False


def test_a_handoff_ticket_becomes_a_new_thirty_day_session_once(
    session: Session, user: User
) -> None:
    now = clock.now()
    ticket = create_handoff(session, user_id=user.id, now=now)
    session.commit()

    redeemed = redeem_handoff(session, ticket=ticket, now=now + timedelta(seconds=5))
    session.commit()

    assert redeemed is not None
    token, who = redeemed
    assert who.id == user.id
    assert token != ticket
    later = now + SESSION_LIFETIME - timedelta(minutes=1)
    assert user_for_token(session, token, now=later) is not None
    assert redeem_handoff(session, ticket=ticket) is None  # single use
    assert len(session.exec(select(SignInSession)).all()) == 1  # swapped in place


def test_a_handoff_ticket_expires_after_sixty_seconds(session: Session, user: User) -> None:
    now = clock.now()
    ticket = create_handoff(session, user_id=user.id, now=now)
    session.commit()

    assert redeem_handoff(session, ticket=ticket, now=now + HANDOFF_LIFETIME) is None


def test_a_ticket_is_not_a_session_and_a_session_is_not_a_ticket(
    session: Session, user: User
) -> None:
    ticket = create_handoff(session, user_id=user.id)
    token = create_session(session, user_id=user.id)
    session.commit()

    assert user_for_token(session, ticket) is None
    assert redeem_handoff(session, ticket=token) is None
    assert user_for_token(session, token) is not None


def test_a_revoked_ticket_cannot_be_redeemed(session: Session, user: User) -> None:
    ticket = create_handoff(session, user_id=user.id)
    revoke_session(session, token=ticket)
    session.commit()

    assert redeem_handoff(session, ticket=ticket) is None


def test_revoke_all_sessions_ends_every_session_and_ticket_of_the_user_but_one(
    session: Session, user: User
) -> None:
    phone = create_session(session, user_id=user.id)
    laptop = create_session(session, user_id=user.id)
    ticket = create_handoff(session, user_id=user.id)
    kept = create_session(session, user_id=user.id)
    someone_else = create_session(session, user_id=make_user(session).id)
    session.commit()

    assert revoke_all_sessions(session, user.id, except_token=kept) == 3
    session.commit()

    assert user_for_token(session, phone) is None and user_for_token(session, laptop) is None
    assert redeem_handoff(session, ticket=ticket) is None
    assert user_for_token(session, kept) is not None
    assert user_for_token(session, someone_else) is not None
    assert revoke_all_sessions(session, user.id) == 1  # the kept one, now; the rest stay ended


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"{SESSION_COOKIE}=abc", "abc"),
        (f"theme=dark; {SESSION_COOKIE}=abc; lang=en", "abc"),
        (f'{SESSION_COOKIE}="abc"', "abc"),
        (f"bad cookie {{; {SESSION_COOKIE}=abc", "abc"),  # another cookie's junk is ignored
        (f"x{SESSION_COOKIE}=abc", None),
        (f"{SESSION_COOKIE}=", None),
        ("theme=dark", None),
        ("", None),
        (None, None),
    ],
)
def test_token_from_cookie_header(header: str | None, expected: str | None) -> None:
    assert token_from_cookie_header(header) == expected


def test_user_for_cookie_header_uses_the_app_database(session: Session, user: User) -> None:
    token = create_session(session, user_id=user.id)
    session.commit()

    found = user_for_cookie_header(f"theme=dark; {SESSION_COOKIE}={token}")

    assert found is not None and found.email == "ann@example.com"
    assert user_for_cookie_header(f"{SESSION_COOKIE}=forged") is None
    assert user_for_cookie_header(None) is None


def test_the_cookie_is_httponly_lax_and_lives_as_long_as_the_session(
    configure: Callable[..., Settings],
) -> None:
    configure(APP_URL="http://localhost:3000")

    cookie = sign_in_sessions.session_cookie("tok")

    assert cookie == {
        "key": SESSION_COOKIE, "value": "tok", "max_age": 30 * 24 * 3600, "path": "/",
        "httponly": True, "samesite": "lax", "secure": False,
    }


def test_the_cookie_is_secure_under_https(configure: Callable[..., Settings]) -> None:
    configure(APP_URL="https://tutors.example.com")

    assert sign_in_sessions.session_cookie("tok")["secure"] is True
    assert sign_in_sessions.cleared_session_cookie()["secure"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/dashboard", "/dashboard"),
        ("/book-now?tutor=maria-garcia&step=4", "/book-now?tutor=maria-garcia&step=4"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("dashboard", "/"),
        ("//evil.example", "/"),
        ("///evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/dashboard", "/"),
        ("javascript:alert(1)", "/"),
        ("/dash\nboard", "/"),
        ("/dash\tboard", "/"),
    ],
)
def test_safe_next_only_allows_paths_on_this_site(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_handoff_url_carries_the_ticket_and_a_safe_next() -> None:
    assert sign_in_sessions.handoff_url("t-1", "/book-now?tutor=x") == (
        "/api/auth/session?ticket=t-1&next=%2Fbook-now%3Ftutor%3Dx"
    )
    assert sign_in_sessions.handoff_url("t-1", "//evil.example").endswith("&next=%2F")
