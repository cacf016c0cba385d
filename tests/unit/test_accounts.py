"""Accounts: sign-up and its messages, sign-in and its throttle, OpenID linking, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, select

from tests.factories import make_booking
from tutor_app.accounts import email_links, passwords, pre_sign_in, sign_in_sessions, users
from tutor_app.accounts.users import (
    AuthError,
    RoleError,
    ThrottledError,
    authenticate,
    booking_owner_by_email,
    find_or_create_by_email,
    grant_role,
    mark_email_verified,
    sign_in_with_oidc,
    sign_up,
)
from tutor_app.core import clock, rate_limits
from tutor_app.core.models import LoginThrottle, OAuthIdentity, User

PASSWORD = "correct horse battery"
IP = "203.0.113.7"  # the client's address every sign-in here comes from, unless said otherwise


def _error(call: object, *args: object, **kwargs: object) -> AuthError:
    with pytest.raises(AuthError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


def _account(session: Session, email: str = "ann@example.com") -> User:
    user = sign_up(session, email=email, password=PASSWORD, name="Ann")
    session.commit()
    return user


# -- sign-up ---------------------------------------------------------------------------------


def test_sign_up_normalises_the_email_and_hashes_the_password(session: Session) -> None:
    user = sign_up(session, email="  Ann@Example.COM ", password=PASSWORD, name="  Ann   Lee ")
    session.commit()

    assert user.email == "ann@example.com"
    assert user.name == "Ann Lee"
    assert user.role == "student"
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize("email", ["", "ann", "ann@", "@example.com", "ann@example", "a b@x.com",
                                   "ann@@example.com", "ann@example.com" + "m" * 320])
def test_sign_up_refuses_a_malformed_email(session: Session, email: str) -> None:
    error = _error(sign_up, session, email=email, password=PASSWORD)

    assert (error.field, error.message) == ("email", "Enter a valid email address")


def test_sign_up_refuses_a_short_password(session: Session) -> None:
    error = _error(sign_up, session, email="ann@example.com", password="1234567")

    assert (error.field, error.message) == ("password", "Use at least 8 characters")


def test_sign_up_refuses_an_absurdly_long_password(session: Session) -> None:
    error = _error(sign_up, session, email="ann@example.com", password="x" * 1025)

    assert error.field == "password"


def test_sign_up_reports_every_wrong_field_at_once(session: Session) -> None:
    error = _error(sign_up, session, email="ann@", password="short", name="n" * 101)

    assert error.errors == {
        "email": "Enter a valid email address",
        "password": "Use at least 8 characters",
        "name": "Use at most 100 characters",
    }
    assert (error.field, error.message) == ("email", "Enter a valid email address")


def test_sign_up_refuses_a_too_long_name(session: Session) -> None:
    error = _error(sign_up, session, email="ann@example.com", password=PASSWORD, name="n" * 101)

    assert error.field == "name"


def test_sign_up_refuses_a_taken_email_whatever_its_case(session: Session) -> None:
    _account(session)

    error = _error(sign_up, session, email="ANN@example.com ", password=PASSWORD)

    assert (error.field, error.message) == ("email", "An account with this email already exists")


def test_sign_up_never_takes_over_an_unclaimed_user(session: Session) -> None:
    # Only its mailbox may (email_verification mails it a link): choosing a password is not
    # proof of owning the address that paid.
    unclaimed = find_or_create_by_email(session, email="ann@example.com")
    session.commit()

    error = _error(sign_up, session, email="Ann@example.com", password=PASSWORD, name="Mallory")
    session.rollback()

    assert (error.field, error.message) == ("email", "An account with this email already exists")
    session.refresh(unclaimed)
    assert unclaimed.password_hash is None
    assert unclaimed.name != "Mallory"


def test_a_new_password_account_is_unverified(session: Session) -> None:
    assert _account(session).email_verified is False


def test_a_google_user_cannot_be_claimed_by_a_password_sign_up(session: Session) -> None:
    sign_in_with_oidc(session, provider="google", subject="g-1", email="ann@example.com",
                      email_verified=True, name="Ann")
    session.commit()

    error = _error(sign_up, session, email="ann@example.com", password=PASSWORD)

    assert error.message == "An account with this email already exists"


# -- sign-in ---------------------------------------------------------------------------------


def test_authenticate_with_the_right_password(session: Session) -> None:
    user = _account(session)

    assert authenticate(session, ip=IP, email=" ANN@example.com", password=PASSWORD).id == user.id


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_password_and_unknown_email_get_the_same_message(
    session: Session, email: str, password: str
) -> None:
    _account(session)

    error = _error(authenticate, session, ip=IP, email=email, password=password)

    assert (error.field, error.message) == ("password", "Wrong email or password")


def test_an_unclaimed_user_cannot_sign_in_with_any_password(session: Session) -> None:
    find_or_create_by_email(session, email="ann@example.com")
    session.commit()

    error = _error(authenticate, session, ip=IP, email="ann@example.com", password=PASSWORD)

    assert error.message == "Wrong email or password"


def test_an_unknown_email_costs_one_argon2_verification(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = passwords.dummy_verify
    monkeypatch.setattr(passwords, "dummy_verify", lambda pw: (calls.append(pw), real(pw)))

    _error(authenticate, session, ip=IP, email="nobody@example.com", password=PASSWORD)

    assert calls == [PASSWORD]


def test_authenticate_asks_for_a_missing_password(session: Session) -> None:
    error = _error(authenticate, session, ip=IP, email="ann@example.com", password="")

    assert (error.field, error.message) == ("password", "Enter your password")


def test_authenticate_upgrades_a_weak_hash(session: Session) -> None:
    user = _account(session)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    session.add(user)
    session.commit()

    authenticate(session, ip=IP, email="ann@example.com", password=PASSWORD)
    session.commit()

    session.refresh(user)
    assert user.password_hash is not None
    assert not passwords.needs_rehash(user.password_hash)


def _fail(session: Session, now: object, email: str = "ann@example.com") -> AuthError:
    return _error(authenticate, session, ip=IP, email=email, password="wrong password", now=now)


def test_five_failures_lock_the_email_even_for_the_right_password(session: Session) -> None:
    _account(session)
    now = clock.now()
    for i in range(users.FREE_FAILURES):
        assert _fail(session, now + timedelta(seconds=i)).message == "Wrong email or password"
    last = now + timedelta(seconds=users.FREE_FAILURES - 1)

    error = _error(authenticate, session, ip=IP, email="ann@example.com", password=PASSWORD,
                   now=last + timedelta(seconds=1))

    assert isinstance(error, ThrottledError)
    assert error.message == "Too many attempts. Try again in 29 seconds."
    assert error.retry_after == 29


def test_the_lock_doubles_per_extra_failure_up_to_fifteen_minutes(session: Session) -> None:
    _account(session)
    now = clock.now()
    for _ in range(users.FREE_FAILURES):
        _fail(session, now)
    waits = []
    for _ in range(8):
        wait = _error(authenticate, session, ip=IP, email="ann@example.com", password=PASSWORD,
                      now=now)
        assert isinstance(wait, ThrottledError)
        waits.append(wait.retry_after)
        now += timedelta(seconds=wait.retry_after)  # wait it out, then fail again
        assert _fail(session, now).message == "Wrong email or password"

    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]


def test_the_lock_is_lifted_after_its_delay(session: Session) -> None:
    user = _account(session)
    now = clock.now()
    for _ in range(users.FREE_FAILURES):
        _fail(session, now)

    assert authenticate(session, ip=IP, email="ann@example.com", password=PASSWORD,
                        now=now + timedelta(seconds=30)).id == user.id


def test_a_success_resets_the_count(session: Session) -> None:
    _account(session)
    now = clock.now()
    for _ in range(users.FREE_FAILURES - 1):
        _fail(session, now)
    authenticate(session, ip=IP, email="ann@example.com", password=PASSWORD, now=now)
    session.commit()

    assert session.get(LoginThrottle, ("ann@example.com", IP)) is None
    assert _fail(session, now).message == "Wrong email or password"  # the count starts over


def test_failures_older_than_the_window_are_forgotten(session: Session) -> None:
    _account(session)
    now = clock.now()
    for _ in range(users.FREE_FAILURES - 1):
        _fail(session, now)

    later = now + users.FAILURE_WINDOW
    assert _fail(session, later).message == "Wrong email or password"
    row = session.get(LoginThrottle, ("ann@example.com", IP))
    assert row is not None
    session.refresh(row)
    assert row.failures == 1


def test_unknown_emails_are_throttled_too(session: Session) -> None:
    now = clock.now()
    for _ in range(users.FREE_FAILURES):
        _fail(session, now, email="nobody@example.com")

    assert isinstance(_fail(session, now, email="Nobody@example.com"), ThrottledError)


def test_failures_survive_the_caller_rolling_back(session: Session) -> None:
    _account(session)
    _fail(session, clock.now())
    session.rollback()

    row = session.get(LoginThrottle, ("ann@example.com", IP))
    assert row is not None and row.failures == 1


# -- who the throttle and the rate limits slow down -----------------------------------------

ATTACKER = "198.51.100.66"


def test_a_locked_attacker_does_not_lock_the_owner_out_from_another_address(
    session: Session,
) -> None:
    user = _account(session)
    now = clock.now()
    for _ in range(users.FREE_FAILURES):
        _error(authenticate, session, ip=ATTACKER, email="ann@example.com",
               password="wrong password", now=now)
    # The attacker keeps hammering while locked: refused without a guess, and not counted
    # against the email, so it cannot use up the email's own budget either (until its
    # address's own limit stops it altogether).
    for _ in range(rate_limits.SIGN_IN_PER_ADDRESS.max_hits - users.FREE_FAILURES - 1):
        locked = _error(authenticate, session, ip=ATTACKER, email="ann@example.com",
                        password=PASSWORD, now=now)
        assert isinstance(locked, ThrottledError)

    signed_in = authenticate(session, ip=IP, email="ann@example.com", password=PASSWORD,
                             now=now)
    session.commit()

    assert signed_in.id == user.id
    # The owner's success lifts nothing of the attacker's lock.
    still = _error(authenticate, session, ip=ATTACKER, email="ann@example.com",
                   password=PASSWORD, now=now)
    assert isinstance(still, ThrottledError)


def test_one_address_trying_many_emails_is_rate_limited(session: Session) -> None:
    _account(session)
    now = clock.now()
    for i in range(rate_limits.SIGN_IN_PER_ADDRESS.max_hits):
        _error(authenticate, session, ip=ATTACKER, email=f"guess{i}@example.com",
               password="wrong password", now=now)

    with pytest.raises(rate_limits.RateLimited) as refused:
        authenticate(session, ip=ATTACKER, email="ann@example.com", password=PASSWORD, now=now)

    assert str(refused.value) == "Too many attempts. Try again in 15 minutes."
    assert refused.value.retry_after == 15 * 60
    # Another address is not slowed down, and the attacker's window passes.
    assert authenticate(session, ip=IP, email="ann@example.com", password=PASSWORD, now=now)
    session.commit()
    later = now + rate_limits.SIGN_IN_PER_ADDRESS.window
    assert authenticate(session, ip=ATTACKER, email="ann@example.com", password=PASSWORD,
                        now=later)


def test_one_email_guessed_from_many_addresses_is_rate_limited(session: Session) -> None:
    _account(session)
    now = clock.now()
    for i in range(rate_limits.SIGN_IN_PER_EMAIL.max_hits):
        _error(authenticate, session, ip=f"192.0.2.{i}", email="ann@example.com",
               password="wrong password", now=now)

    with pytest.raises(rate_limits.RateLimited) as refused:
        authenticate(session, ip="192.0.2.250", email="ANN@example.com", password=PASSWORD,
                     now=now + timedelta(minutes=5))

    assert str(refused.value) == "Too many attempts. Try again in 10 minutes."


# -- find_or_create_by_email -----------------------------------------------------------------


def test_find_or_create_by_email_creates_an_unclaimed_user_once(session: Session) -> None:
    first = find_or_create_by_email(session, email=" Ann@Example.com", name="Ann")
    again = find_or_create_by_email(session, email="ann@example.com")
    session.commit()

    assert first.id == again.id
    assert first.email == "ann@example.com"
    assert first.password_hash is None
    assert len(session.exec(select(User)).all()) == 1


def test_find_or_create_by_email_returns_an_existing_account(session: Session) -> None:
    user = _account(session)

    assert find_or_create_by_email(session, email="ann@example.com").id == user.id


# -- which user a booking found by email belongs to -----------------------------------------


def test_a_booking_by_email_belongs_to_a_verified_account(session: Session) -> None:
    account = _account(session)
    account.email_verified = True
    session.add(account)
    session.commit()

    assert booking_owner_by_email(session, email="ANN@example.com") == account


def test_a_booking_by_email_belongs_to_an_unclaimed_user_made_for_it(session: Session) -> None:
    owner = booking_owner_by_email(session, email="new@example.com", name="New")
    session.commit()

    assert owner is not None and owner.password_hash is None and owner.email == "new@example.com"
    assert booking_owner_by_email(session, email="new@example.com") == owner


def test_a_booking_by_email_never_belongs_to_an_unverified_account(session: Session) -> None:
    _account(session, email="pw@example.com")  # a password, never verified
    _oidc(session, email="idp@example.com", email_verified=False)  # an identity, unverified

    assert booking_owner_by_email(session, email="pw@example.com") is None
    assert booking_owner_by_email(session, email="idp@example.com") is None


def test_a_verified_email_collects_the_bookings_paid_with_it(session: Session) -> None:
    account = _account(session)
    other = _account(session, email="bob@example.com")
    start = clock.now() + timedelta(days=3)
    # Paid with Ann's address (any case) while nobody could own it; and two that are not hers.
    mine = make_booking(session, start=start, customer_email="Ann@Example.com")
    owned = make_booking(session, start=start + timedelta(hours=2), user=other,
                         customer_email="ann@example.com")
    elsewhere = make_booking(session, start=start + timedelta(hours=4),
                             customer_email="carl@example.com")

    assert mark_email_verified(session, account) == 1
    session.commit()

    for row in (mine, owned, elsewhere):
        session.refresh(row)
    assert mine.user_id == account.id
    assert owned.user_id == other.id  # someone's booking stays theirs
    assert elsewhere.user_id is None
    assert account.email_verified is True


# -- OpenID sign-in --------------------------------------------------------------------------


def _oidc(session: Session, **overrides: object) -> User:
    claims: dict[str, object] = {"provider": "google", "subject": "g-1",
                                 "email": "ann@example.com", "email_verified": True, "name": "Ann"}
    claims.update(overrides)
    user = sign_in_with_oidc(session, **claims)  # type: ignore[arg-type]
    session.commit()
    return user


def test_a_new_identity_creates_a_user(session: Session) -> None:
    user = _oidc(session, email="New@Example.com", name="New Person")

    assert user.email == "new@example.com"
    assert user.name == "New Person"
    assert user.email_verified is True
    assert user.password_hash is None
    identity = session.exec(select(OAuthIdentity)).one()
    assert (identity.user_id, identity.subject) == (user.id, "g-1")


def test_a_known_identity_is_found_by_subject_not_email(session: Session) -> None:
    user = _oidc(session)

    again = _oidc(session, email="changed@example.com", email_verified=False)

    assert again.id == user.id
    assert len(session.exec(select(OAuthIdentity)).all()) == 1


def test_a_verified_email_links_to_a_verified_password_account(session: Session) -> None:
    account = _account(session)
    account.email_verified = True
    session.add(account)
    token = sign_in_sessions.create_session(session, user_id=account.id)
    session.commit()

    user = _oidc(session, email="ANN@example.com")

    assert user.id == account.id
    assert user.email_verified is True
    assert passwords.verify_password(user.password_hash or "", PASSWORD)  # password still works
    assert sign_in_sessions.user_for_token(session, token) is not None  # and its sessions


def test_a_verified_email_takes_an_unverified_account_from_whoever_signed_it_up(
    session: Session,
) -> None:
    # Someone signed up first with Ann's address: their password, sessions and links go.
    squatter = _account(session)
    token = sign_in_sessions.create_session(session, user_id=squatter.id)
    browser = pre_sign_in.new_value()
    ticket = sign_in_sessions.create_handoff(session, user_id=squatter.id, browser=browser)
    link = email_links.issue_link(session, user_id=squatter.id,
                                  purpose=email_links.VERIFY_EMAIL, email=squatter.email)
    session.commit()

    user = _oidc(session)
    new_session = sign_in_sessions.create_session(session, user_id=user.id)
    session.commit()

    assert user.id == squatter.id
    assert user.password_hash is None
    assert user.email_verified is True
    assert sign_in_sessions.user_for_token(session, token) is None
    assert sign_in_sessions.redeem_handoff(session, ticket=ticket, browser=browser) is None
    assert email_links.consume_link(session, token=link,
                                    purpose=email_links.VERIFY_EMAIL) is None
    with pytest.raises(AuthError):
        authenticate(session, email="ann@example.com", password=PASSWORD, ip=IP)
    assert sign_in_sessions.user_for_token(session, new_session) is not None  # Ann's own


def test_an_unverified_email_never_merges_into_an_account(session: Session) -> None:
    _account(session)

    error = _error(sign_in_with_oidc, session, provider="google", subject="g-2",
                   email="ann@example.com", email_verified=False, name="")

    assert error.field == "email"
    assert error.message == users.UNVERIFIED_EMAIL_CLASH
    assert session.exec(select(OAuthIdentity)).all() == []


def test_an_identity_without_email_is_refused(session: Session) -> None:
    error = _error(sign_in_with_oidc, session, provider="google", subject="g-3", email=None,
                   email_verified=False, name="")

    assert error.message == users.NO_PROVIDER_EMAIL


def test_an_unclaimed_user_is_claimed_by_a_verified_identity(session: Session) -> None:
    unclaimed = find_or_create_by_email(session, email="ann@example.com")
    session.commit()

    assert _oidc(session).id == unclaimed.id


# -- roles -----------------------------------------------------------------------------------


def test_grant_tutor_role_links_a_catalog_tutor(session: Session) -> None:
    _account(session)

    user = grant_role(session, email="Ann@example.com", role="tutor", tutor_id="maria-garcia")
    session.commit()

    assert (user.role, user.tutor_id) == ("tutor", "maria-garcia")


def test_another_role_clears_the_tutor_link(session: Session) -> None:
    _account(session)
    grant_role(session, email="ann@example.com", role="tutor", tutor_id="maria-garcia")

    user = grant_role(session, email="ann@example.com", role="admin")

    assert (user.role, user.tutor_id) == ("admin", None)


@pytest.mark.parametrize(
    ("email", "role", "tutor_id", "says"),
    [
        ("nobody@example.com", "admin", None, "no user"),
        ("ann@example.com", "tutor", None, "tutor id"),
        ("ann@example.com", "tutor", "no-such-tutor", "no-such-tutor"),
        ("ann@example.com", "owner", None, "unknown role"),
    ],
)
def test_grant_role_refusals(
    session: Session, email: str, role: str, tutor_id: str | None, says: str
) -> None:
    _account(session)

    with pytest.raises(RoleError) as info:
        grant_role(session, email=email, role=role, tutor_id=tutor_id)

    assert says in str(info.value)
    user = session.exec(select(User).where(User.email == "ann@example.com")).one()
    assert user.role == "student"
