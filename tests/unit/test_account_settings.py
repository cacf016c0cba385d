"""Account settings: name, time zone, password, signed-in devices and deleting the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import lesson_start, make_booking, make_hold, make_user
from tutor_app.accounts import account_settings, pre_sign_in, sign_in_sessions, users
from tutor_app.accounts.account_settings import (
    CONFIRM_WITH_PASSWORD,
    CONFIRM_WITH_WORD,
    MISSING_CURRENT_PASSWORD,
    NO_PASSWORD,
    UNKNOWN_DEVICE,
    UNKNOWN_ZONE,
    UPCOMING_LESSONS,
    WRONG_CURRENT_PASSWORD,
    AccountGone,
    change_name,
    change_password,
    delete_account,
    describe_device,
    devices,
    remember_zone,
    set_timezone,
    sign_out_device,
    sign_out_everywhere,
)
from tutor_app.accounts.users import AuthError
from tutor_app.core import clock
from tutor_app.core.models import (
    Booking,
    BookingStatus,
    CalendarConnection,
    HoldStatus,
    LoginThrottle,
    Notification,
    OAuthIdentity,
    SignInSession,
    SlotHold,
    User,
)
from tutor_app.mail import notifications

BROWSER = pre_sign_in.new_value()  # the pre-sign-in cookie of the browser signing in
IP = "127.0.0.1"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a whole new sentence"
CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def _account(session: Session, email: str = "ann@example.com") -> User:
    user = users.sign_up(session, email=email, password=PASSWORD, name="Ann")
    session.commit()
    return user


def _google_account(session: Session) -> User:
    user = make_user(session, email="gina@example.com", name="Gina", email_verified=True)
    session.add(OAuthIdentity(user_id=user.id, provider="google", subject="sub-gina",
                              email=user.email))
    session.commit()
    return user


def _session(session: Session, user: User, user_agent: str | None = None) -> str:
    token = sign_in_sessions.create_session(session, user_id=user.id, user_agent=user_agent)
    session.commit()
    return token


def _fresh(session: Session, user_id: str) -> User:
    session.expire_all()
    found = session.get(User, user_id)
    assert found is not None
    session.commit()
    return found


def _error(call: object, *args: object, **kwargs: object) -> AuthError:
    with pytest.raises(AuthError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


# -- time zone -------------------------------------------------------------------------------


def test_a_detected_zone_is_saved_on_an_account_without_one(session: Session) -> None:
    user = make_user(session)

    assert remember_zone(session, user_id=user.id, zone="Asia/Tokyo") is True
    session.commit()

    assert _fresh(session, user.id).timezone == "Asia/Tokyo"


def test_a_detected_zone_never_overwrites_a_saved_one(session: Session) -> None:
    user = make_user(session)
    set_timezone(session, user_id=user.id, zone="Europe/Paris")
    session.commit()

    assert remember_zone(session, user_id=user.id, zone="America/New_York") is False
    session.commit()

    assert _fresh(session, user.id).timezone == "Europe/Paris"


@pytest.mark.parametrize("zone", [None, "", "Not/AZone", "localtime", "Factory", "x" * 80])
def test_no_zone_or_a_bad_one_is_never_remembered(session: Session, zone: str | None) -> None:
    user = make_user(session)

    assert remember_zone(session, user_id=user.id, zone=zone) is False
    session.commit()

    assert _fresh(session, user.id).timezone is None


def test_the_zone_chosen_on_the_account_page_replaces_the_detected_one(session: Session) -> None:
    user = make_user(session, timezone="America/New_York")

    set_timezone(session, user_id=user.id, zone="Asia/Tokyo")
    session.commit()

    assert _fresh(session, user.id).timezone == "Asia/Tokyo"


def test_a_zone_outside_the_list_is_refused_by_its_field(session: Session) -> None:
    user = make_user(session, timezone="Europe/Paris")

    error = _error(set_timezone, session, user_id=user.id, zone="Mars/Olympus")

    assert (error.field, error.message) == ("timezone", UNKNOWN_ZONE)
    assert _fresh(session, user.id).timezone == "Europe/Paris"


def test_the_zone_choices_name_each_zone_with_its_offset_that_day() -> None:
    winter = dict(account_settings.zone_choices(datetime(2026, 12, 1, tzinfo=UTC)))
    summer = dict(account_settings.zone_choices(datetime(2026, 7, 1, tzinfo=UTC)))

    assert winter["Europe/Paris"] == "Europe/Paris (CET, UTC+01:00)"
    assert summer["Europe/Paris"] == "Europe/Paris (CEST, UTC+02:00)"
    assert winter["Asia/Kolkata"].endswith("UTC+05:30)")
    names = list(winter)
    assert names == sorted(names) and "UTC" in names and "localtime" not in names


# -- name ------------------------------------------------------------------------------------


def test_the_name_is_tidied_as_at_sign_up(session: Session) -> None:
    user = _account(session)

    change_name(session, user_id=user.id, name="  Ann   Marie  Lee ")
    session.commit()

    assert _fresh(session, user.id).name == "Ann Marie Lee"


def test_a_too_long_name_is_refused_by_its_field(session: Session) -> None:
    user = _account(session)

    error = _error(change_name, session, user_id=user.id, name="x" * 101)

    assert (error.field, error.message) == ("name", users.LONG_NAME)
    assert _fresh(session, user.id).name == "Ann"


# -- password --------------------------------------------------------------------------------


def test_a_new_password_signs_out_every_other_browser_but_this_one(session: Session) -> None:
    user = _account(session)
    here = _session(session, user, CHROME_LINUX)
    phone = _session(session, user, SAFARI_IPHONE)
    ticket = sign_in_sessions.create_handoff(session, user_id=user.id, browser=BROWSER)
    session.commit()

    revoked = change_password(session, user_id=user.id, current_password=PASSWORD,
                              new_password=NEW_PASSWORD, ip=IP, keep_token=here)
    session.commit()

    assert revoked == 2  # the phone, and the ticket that would have become a session
    assert sign_in_sessions.user_for_token(session, here) is not None
    assert sign_in_sessions.user_for_token(session, phone) is None
    assert sign_in_sessions.redeem_handoff(session, ticket=ticket, browser=BROWSER) is None
    session.commit()
    assert users.authenticate(session, email=user.email, password=NEW_PASSWORD, ip=IP).id == user.id
    with pytest.raises(AuthError):
        users.authenticate(session, email=user.email, password=PASSWORD, ip=IP)


def test_a_wrong_current_password_is_refused_and_counts_as_a_failed_sign_in(
    session: Session,
) -> None:
    user = _account(session)
    here = _session(session, user)

    error = _error(change_password, session, user_id=user.id, current_password="guess",
                   new_password=NEW_PASSWORD, ip=IP, keep_token=here)
    session.rollback()

    assert (error.field, error.message) == ("current_password", WRONG_CURRENT_PASSWORD)
    throttle = session.get(LoginThrottle, {"email": user.email, "ip": IP})
    assert throttle is not None and throttle.failures == 1
    assert users.authenticate(session, email=user.email, password=PASSWORD, ip=IP).id == user.id


def test_a_throttled_account_says_so_by_the_current_password(session: Session) -> None:
    user = _account(session)
    for _ in range(users.FREE_FAILURES):
        _error(users.authenticate, session, email=user.email, password="guess", ip=IP)

    error = _error(change_password, session, user_id=user.id, current_password=PASSWORD,
                   new_password=NEW_PASSWORD, ip=IP, keep_token=None)

    assert error.field == "current_password"
    assert error.message.startswith("Too many attempts")


def test_the_new_password_follows_sign_up_rules_and_the_current_one_is_required(
    session: Session,
) -> None:
    user = _account(session)

    error = _error(change_password, session, user_id=user.id, current_password="",
                   new_password="short", ip=IP, keep_token=None)

    assert error.errors == {"current_password": MISSING_CURRENT_PASSWORD,
                            "new_password": users.SHORT_PASSWORD}
    assert session.get(LoginThrottle, {"email": user.email, "ip": IP}) is None  # nothing was tried


def test_an_account_without_a_password_has_none_to_change(session: Session) -> None:
    user = _google_account(session)

    error = _error(change_password, session, user_id=user.id, current_password="anything",
                   new_password=NEW_PASSWORD, ip=IP, keep_token=None)

    assert (error.field, error.message) == ("current_password", NO_PASSWORD)
    assert _fresh(session, user.id).password_hash is None


# -- signed-in devices -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_LINUX, "Chrome on Linux"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome on Linux"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0",
         "Firefox on macOS"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
        ("python-httpx/0.28.1", UNKNOWN_DEVICE),
        ("", UNKNOWN_DEVICE),
        (None, UNKNOWN_DEVICE),
    ],
)
def test_a_user_agent_reads_as_a_short_device_name(user_agent: str | None, expected: str) -> None:
    assert describe_device(user_agent) == expected


def test_devices_are_the_live_sessions_newest_first_this_one_marked(session: Session) -> None:
    user = _account(session)
    older = _session(session, user, SAFARI_IPHONE)
    clock.shift_to(clock.now() + timedelta(minutes=5))
    here = _session(session, user, CHROME_LINUX)
    # a ticket is not a device
    sign_in_sessions.create_handoff(session, user_id=user.id, browser=BROWSER)
    revoked = _session(session, user, CHROME_LINUX)
    sign_in_sessions.revoke_session(session, token=revoked)
    expired = SignInSession(token_hash="e" * 64, user_id=user.id,
                            created_at=clock.now() - timedelta(days=40),
                            expires_at=clock.now() - timedelta(days=10), user_agent=CHROME_LINUX)
    session.add(expired)
    someone_else = make_user(session)
    _session(session, someone_else, CHROME_LINUX)
    session.commit()

    listed = devices(session, user_id=user.id, current_token=here)

    assert [(d.description, d.current) for d in listed] == [
        ("Chrome on Linux", True), ("Safari on iPhone", False),
    ]
    assert listed[1].signed_in_at < listed[0].signed_in_at
    assert sign_in_sessions.user_for_token(session, older) is not None


def test_the_user_agent_is_stored_trimmed(session: Session) -> None:
    user = _account(session)

    _session(session, user, "  " + "x" * 400)

    row = session.exec(select(SignInSession)).one()
    assert row.user_agent == "x" * 255


def test_signing_out_another_device_leaves_this_one(session: Session) -> None:
    user = _account(session)
    here = _session(session, user, CHROME_LINUX)
    phone = _session(session, user, SAFARI_IPHONE)
    phone_id = next(d.session_id for d in devices(session, user_id=user.id, current_token=here)
                    if not d.current)

    assert sign_out_device(session, user_id=user.id, session_id=phone_id, current_token=here)
    session.commit()

    assert sign_in_sessions.user_for_token(session, phone) is None
    assert sign_in_sessions.user_for_token(session, here) is not None


def test_sign_out_device_reaches_neither_this_browser_nor_anyone_elses(session: Session) -> None:
    user = _account(session)
    here = _session(session, user)
    other = make_user(session)
    theirs = _session(session, other)
    ids = {row.token_hash: row.id for row in session.exec(select(SignInSession)).all()}
    here_id = ids[sign_in_sessions.hash_token(here)]
    their_id = ids[sign_in_sessions.hash_token(theirs)]

    assert not sign_out_device(session, user_id=user.id, session_id=here_id, current_token=here)
    assert not sign_out_device(session, user_id=user.id, session_id=their_id,
                               current_token=here)
    session.commit()

    assert sign_in_sessions.user_for_token(session, here) is not None
    assert sign_in_sessions.user_for_token(session, theirs) is not None


def test_sign_out_everywhere_includes_this_browser(session: Session) -> None:
    user = _account(session)
    tokens = [_session(session, user) for _ in range(3)]
    other = make_user(session)
    theirs = _session(session, other)

    assert sign_out_everywhere(session, user_id=user.id) == 3
    session.commit()

    assert all(sign_in_sessions.user_for_token(session, t) is None for t in tokens)
    assert sign_in_sessions.user_for_token(session, theirs) is not None


# -- deleting the account --------------------------------------------------------------------


def test_deleting_is_refused_while_a_paid_lesson_is_to_come(session: Session) -> None:
    user = _account(session)
    make_booking(session, user=user, start=lesson_start(days=3))

    error = _error(delete_account, user_id=user.id, confirmation=PASSWORD, ip=IP)

    assert (error.field, error.message) == ("confirm", UPCOMING_LESSONS)
    kept = _fresh(session, user.id)
    assert kept.deleted_at is None and kept.email == "ann@example.com"


def test_a_lesson_in_progress_also_refuses_the_deletion(session: Session) -> None:
    user = _account(session)
    make_booking(session, user=user, start=clock.now() - timedelta(minutes=30), minutes=60)

    assert _error(delete_account, user_id=user.id, confirmation=PASSWORD, ip=IP).message == (
        UPCOMING_LESSONS)


def test_deleting_needs_the_password_and_a_wrong_one_counts(session: Session) -> None:
    user = _account(session)

    assert _error(delete_account, user_id=user.id, confirmation="", ip=IP).message == (
        CONFIRM_WITH_PASSWORD)
    assert _error(delete_account, user_id=user.id, confirmation="guess", ip=IP).message == (
        WRONG_CURRENT_PASSWORD)

    throttle = session.get(LoginThrottle, {"email": user.email, "ip": IP})
    assert throttle is not None and throttle.failures == 1
    assert _fresh(session, user.id).deleted_at is None


def test_an_account_without_a_password_is_deleted_by_typing_delete(session: Session) -> None:
    user = _google_account(session)

    assert _error(delete_account, user_id=user.id, confirmation="delete", ip=IP).message == (
        CONFIRM_WITH_WORD)
    delete_account(user_id=user.id, confirmation=" DELETE ", ip=IP)

    assert _fresh(session, user.id).deleted_at is not None
    assert session.exec(select(OAuthIdentity)).all() == []


def test_deleting_anonymises_the_account_and_keeps_its_past_lessons(session: Session) -> None:
    user = _account(session)
    set_timezone(session, user_id=user.id, zone="Asia/Tokyo")
    session.commit()
    tokens = [_session(session, user, CHROME_LINUX), _session(session, user, SAFARI_IPHONE)]
    session.add(OAuthIdentity(user_id=user.id, provider="google", subject="sub-ann",
                              email=user.email))
    session.add(CalendarConnection(user_id=user.id, encrypted_token="not-a-token"))
    session.commit()
    past = make_booking(session, user=user, start=lesson_start(days=-7), note="Fractions",
                        status=BookingStatus.COMPLETED, customer_email=user.email)
    canceled = make_booking(session, user=user, start=lesson_start(days=5), note="Essay",
                            status=BookingStatus.CANCELED, customer_email=user.email)
    hold = make_hold(session, user=user, start=lesson_start(days=6), session_id="cs_test_live",
                     note="Vectors")
    someone_else = make_user(session)
    their_token = _session(session, someone_else)

    deleted = delete_account(user_id=user.id, confirmation=PASSWORD, ip=IP)

    assert deleted.released_sessions == ["cs_test_live"]
    gone = _fresh(session, user.id)
    assert gone.email == f"deleted-{user.id}@deleted.invalid"
    assert (gone.name, gone.password_hash, gone.timezone, gone.role, gone.tutor_id) == (
        "", None, None, "student", None)
    assert gone.deleted_at is not None and not gone.email_verified
    for booking_id in (past.id, canceled.id):
        kept = session.get(Booking, booking_id)
        assert kept is not None and kept.user_id == user.id
        assert (kept.customer_email, kept.note) == (None, "")
        assert kept.price_cents > 0 and kept.stripe_checkout_session_id
    held = session.get(SlotHold, hold.id)
    assert held is not None and (held.status, held.note) == (HoldStatus.RELEASED, "")
    assert all(sign_in_sessions.user_for_token(session, t) is None for t in tokens)
    assert sign_in_sessions.user_for_token(session, their_token) is not None
    assert session.exec(select(OAuthIdentity)).all() == []
    assert session.exec(select(CalendarConnection)).all() == []


def test_a_deleted_account_is_never_claimed_nor_changed_again(session: Session) -> None:
    user = _account(session)
    delete_account(user_id=user.id, confirmation=PASSWORD, ip=IP)

    placeholder = account_settings.deleted_email(user.id)
    assert _error(users.sign_up, session, email=placeholder, password=PASSWORD).message == (
        users.EMAIL_TAKEN)
    session.rollback()
    with pytest.raises(AccountGone):
        change_name(session, user_id=user.id, name="Back")
    assert remember_zone(session, user_id=user.id, zone="Asia/Tokyo") is False
    session.rollback()
    # The address is free again for a new account.
    assert users.sign_up(session, email="ann@example.com", password=PASSWORD).id != user.id
    session.commit()


def test_a_canceled_upcoming_lesson_does_not_stop_the_deletion(session: Session) -> None:
    user = _account(session)
    make_booking(session, user=user, start=lesson_start(days=3), status=BookingStatus.CANCELED)

    delete_account(user_id=user.id, confirmation=PASSWORD, ip=IP)

    assert _fresh(session, user.id).deleted_at is not None


def test_no_email_goes_to_a_deleted_account(session: Session) -> None:
    user = _account(session)
    canceled = make_booking(session, user=user, start=lesson_start(days=5),
                            status=BookingStatus.CANCELED, canceled_at=clock.now(),
                            customer_email=user.email)
    delete_account(user_id=user.id, confirmation=PASSWORD, ip=IP)

    assert notifications.booking_canceled(canceled.id) is False

    row = session.exec(select(Notification)).one()
    assert row.sent_at is None and row.last_error == "skipped: no email address"
