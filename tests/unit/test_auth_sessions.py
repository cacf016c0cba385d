"""Server-side sessions: opaque tokens, stored hashed, that expire, revoke and hand off once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_user
from tutor_app.accounts import pre_sign_in, sign_in_sessions
from tutor_app.accounts.sign_in_sessions import (
    HANDOFF_LIFETIME,
    SESSION_LIFETIME,
    create_handoff,
    create_session,
    redeem_handoff,
    revoke_session,
    revoke_sessions,
    safe_next,
    session_cookie_name,
    token_from_cookie_header,
    user_for_cookie_header,
    user_for_token,
)
from tutor_app.core import clock
from tutor_app.core.models import SignInSession, User
from tutor_app.core.settings import Settings

BROWSER = pre_sign_in.new_value()  # the pre-sign-in cookie of the browser signing in


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
    create_handoff(session, user_id=user.id, browser=BROWSER, now=long_ago)
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
    ticket = create_handoff(session, user_id=user.id, browser=BROWSER, now=now)
    session.commit()

    redeemed = redeem_handoff(session, ticket=ticket, browser=BROWSER,
                              now=now + timedelta(seconds=5))
    session.commit()

    assert redeemed is not None
    token, who = redeemed
    assert who.id == user.id
    assert token != ticket
    later = now + SESSION_LIFETIME - timedelta(minutes=1)
    assert user_for_token(session, token, now=later) is not None
    assert redeem_handoff(session, ticket=ticket, browser=BROWSER) is None  # single use
    assert len(session.exec(select(SignInSession)).all()) == 1  # swapped in place


def test_a_handoff_ticket_expires_after_sixty_seconds(session: Session, user: User) -> None:
    now = clock.now()
    ticket = create_handoff(session, user_id=user.id, browser=BROWSER, now=now)
    session.commit()

    expired = now + HANDOFF_LIFETIME
    assert redeem_handoff(session, ticket=ticket, browser=BROWSER, now=expired) is None


def test_a_ticket_is_not_a_session_and_a_session_is_not_a_ticket(
    session: Session, user: User
) -> None:
    ticket = create_handoff(session, user_id=user.id, browser=BROWSER)
    token = create_session(session, user_id=user.id)
    session.commit()

    assert user_for_token(session, ticket) is None
    assert redeem_handoff(session, ticket=token, browser=BROWSER) is None
    assert user_for_token(session, token) is not None


@pytest.mark.parametrize("browser", [pre_sign_in.new_value(), None],
                         ids=["another-browser", "no-pre-sign-in-cookie"])
def test_a_ticket_redeemed_outside_its_browser_is_refused_and_dead(
    session: Session, user: User, browser: str | None
) -> None:
    ticket = create_handoff(session, user_id=user.id, browser=BROWSER)
    session.commit()

    assert redeem_handoff(session, ticket=ticket, browser=browser) is None
    session.commit()

    # Not even its own browser can use it afterwards: a refused ticket is spent.
    assert redeem_handoff(session, ticket=ticket, browser=BROWSER) is None
    row = session.exec(select(SignInSession)).one()
    assert row.revoked_at is not None


def test_a_ticket_stores_only_the_hash_of_its_browsers_cookie(
    session: Session, user: User
) -> None:
    create_handoff(session, user_id=user.id, browser=BROWSER)
    session.commit()

    row = session.exec(select(SignInSession)).one()
    assert row.browser_hash == pre_sign_in.browser_hash(BROWSER)
    assert row.browser_hash != BROWSER and len(row.browser_hash) == 64


def test_a_revoked_ticket_cannot_be_redeemed(session: Session, user: User) -> None:
    ticket = create_handoff(session, user_id=user.id, browser=BROWSER)
    revoke_session(session, token=ticket)
    session.commit()

    assert redeem_handoff(session, ticket=ticket, browser=BROWSER) is None


def test_revoke_sessions_ends_every_session_and_ticket_of_the_user_but_one(
    session: Session, user: User
) -> None:
    phone = create_session(session, user_id=user.id)
    laptop = create_session(session, user_id=user.id)
    ticket = create_handoff(session, user_id=user.id, browser=BROWSER)
    kept = create_session(session, user_id=user.id)
    someone_else = create_session(session, user_id=make_user(session).id)
    session.commit()

    assert revoke_sessions(session, user_id=user.id, except_token=kept) == 3
    session.commit()

    assert user_for_token(session, phone) is None and user_for_token(session, laptop) is None
    assert redeem_handoff(session, ticket=ticket, browser=BROWSER) is None
    assert user_for_token(session, kept) is not None
    assert user_for_token(session, someone_else) is not None
    assert revoke_sessions(session, user_id=user.id) == 1  # the kept one, now; the rest stay ended


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("{name}=abc", "abc"),
        ("theme=dark; {name}=abc; lang=en", "abc"),
        ('{name}="abc"', "abc"),
        ("bad cookie {{; {name}=abc", "abc"),  # another cookie's junk is ignored
        ("x{name}=abc", None),
        ("{name}=", None),
        ("theme=dark", None),
        ("", None),
        (None, None),
    ],
)
def test_token_from_cookie_header(header: str | None, expected: str | None) -> None:
    name = session_cookie_name()
    assert token_from_cookie_header(header and header.format(name=name)) == expected


def test_user_for_cookie_header_uses_the_app_database(session: Session, user: User) -> None:
    token = create_session(session, user_id=user.id)
    session.commit()

    found = user_for_cookie_header(f"theme=dark; {session_cookie_name()}={token}")

    assert found is not None and found.email == "ann@example.com"
    assert user_for_cookie_header(f"{session_cookie_name()}=forged") is None
    assert user_for_cookie_header(None) is None


def test_the_cookie_is_httponly_lax_and_lives_as_long_as_the_session(
    configure: Callable[..., Settings],
) -> None:
    configure(APP_URL="http://localhost:3000")

    cookie = sign_in_sessions.session_cookie("tok")

    assert cookie == {
        "key": "tutor_session", "value": "tok", "max_age": 30 * 24 * 3600, "path": "/",
        "httponly": True, "samesite": "lax", "secure": False,
    }


def test_the_cookie_is_secure_under_https(configure: Callable[..., Settings]) -> None:
    configure(APP_URL="https://tutors.example.com")

    assert sign_in_sessions.session_cookie("tok")["secure"] is True
    assert sign_in_sessions.cleared_session_cookie()["secure"] is True


def test_over_https_the_cookie_is_host_prefixed(configure: Callable[..., Settings]) -> None:
    configure(APP_URL="https://tutors.example.com")

    cookie = sign_in_sessions.session_cookie("tok")

    assert session_cookie_name() == "__Host-tutor_session"
    # What the __Host- prefix demands of the cookie, or the browser drops it.
    assert (cookie["key"], cookie["secure"], cookie["path"]) == ("__Host-tutor_session", True, "/")
    assert "domain" not in cookie
    assert sign_in_sessions.cleared_session_cookie()["key"] == "__Host-tutor_session"


def test_on_http_localhost_the_cookie_has_its_plain_name(
    configure: Callable[..., Settings],
) -> None:
    configure(APP_URL="http://localhost:3000")

    assert session_cookie_name() == "tutor_session"
    assert sign_in_sessions.cleared_session_cookie()["key"] == "tutor_session"
    assert sign_in_sessions.cleared_session_cookie()["secure"] is False


def test_over_https_only_the_prefixed_cookie_signs_in(
    session: Session, user: User, configure: Callable[..., Settings]
) -> None:
    token = create_session(session, user_id=user.id)
    session.commit()
    configure(APP_URL="https://tutors.example.com")

    # A plain-named cookie may have been planted by a plain-http page or a sibling subdomain.
    assert user_for_cookie_header(f"tutor_session={token}") is None
    found = user_for_cookie_header(f"tutor_session=x; __Host-tutor_session={token}")
    assert found is not None and found.id == user.id


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
