"""/api/calendar over real HTTP: a tutor connects Google Calendar through the OAuth consent.

The app's routes run under uvicorn (`api_server`), Google is `FakeGoogle` (a real OAuth server
that checks state, PKCE, redirect URI and client credentials, and revokes for real). Redirects
are followed by hand, as the browser would, so each hop can be checked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session, select

from tests.factories import signed_in_user
from tests.fakes.fake_google import CALENDAR_SCOPE, FakeGoogle
from tests.fakes.server import ThreadedServer
from tutor_app.core import clock
from tutor_app.core.models import Booking, CalendarConnection, OAuthState, Role, User
from tutor_app.core.settings import Settings
from tutor_app.core.token_crypto import decrypt_token
from tutor_app.integrations import oauth
from tutor_app.tutor_calendar import calendar_sync

TUTOR_ID = "maria-garcia"
GOOGLE_ACCOUNT = {
    "sub": "118000000000000000001",
    "email": "maria.calendar@gmail.com",
    "email_verified": True,
    "name": "Maria Garcia",
}


@pytest.fixture
def google(
    api_server: ThreadedServer, google: FakeGoogle, configure: Callable[..., Settings]
) -> FakeGoogle:
    """The shared fake Google, signing in GOOGLE_ACCOUNT and redirecting to the served API.

    `api_server` comes first: it turns Google sign-in off, and the shared fixture back on."""
    google.user = dict(GOOGLE_ACCOUNT)
    configure(APP_URL=api_server.url)
    oauth.clear_caches()
    return google



def signed_in(session: Session, *, email: str, role: str = Role.STUDENT,
              tutor_id: str | None = None) -> tuple[User, dict[str, str]]:
    """A user and the Cookie header of a session for them."""
    user, cookie = signed_in_user(session, email=email, name=email.split("@")[0], role=role,
                                  tutor_id=tutor_id)
    return user, {"cookie": cookie}


@pytest.fixture
def tutor(session: Session) -> tuple[User, dict[str, str]]:
    return signed_in(session, email="maria@example.com", role=Role.TUTOR, tutor_id=TUTOR_ID)


def connection(session: Session, user: User) -> CalendarConnection | None:
    session.commit()
    session.expire_all()
    return session.exec(
        select(CalendarConnection).where(CalendarConnection.user_id == user.id)
    ).first()


def consent(client: httpx.Client, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Start the connect flow and let the fake Google consent; the callback URL and the
    parameters our app sent to /authorize."""
    start = client.get("/api/calendar/connect", headers=headers)
    assert start.status_code == 302, start.text
    authorize = httpx.get(start.headers["location"], follow_redirects=False)
    assert authorize.status_code == 302, authorize.text
    params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    return authorize.headers["location"], params


def follow_callback(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", headers=headers)


# -- the happy path --------------------------------------------------------------------------


def test_tutor_connects_and_the_grant_is_stored_encrypted(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]], api_server: ThreadedServer,
) -> None:
    user, headers = tutor

    callback_url, sent = consent(client, headers)
    response = follow_callback(client, callback_url, headers)

    # What our app asked Google for.
    assert set(sent["scope"].split()) == {"openid", "email", CALENDAR_SCOPE}
    assert sent["access_type"] == "offline" and sent["prompt"] == "consent"
    assert sent["redirect_uri"] == api_server.url + "/api/calendar/callback"
    assert sent["code_challenge_method"] == "S256" and sent["login_hint"] == "maria@example.com"
    assert callback_url.startswith(api_server.url + "/api/calendar/callback?")
    # Where the tutor lands.
    assert response.status_code == 303
    assert response.headers["location"] == "/tutor?calendar=connected"
    # The code was redeemed with the PKCE verifier (the fake checks it against the challenge).
    [exchange] = [p for p in google.requests_to("/token")
                  if p.get("grant_type") == "authorization_code"]
    assert exchange["code_verifier"] and exchange["redirect_uri"] == sent["redirect_uri"]
    # What was stored.
    row = connection(session, user)
    assert row is not None
    assert (row.google_email, row.status) == ("maria.calendar@gmail.com", "connected")
    token = decrypt_token(row.encrypted_token)
    assert token["access_token"].startswith("ya29.") and token["refresh_token"].startswith("1//")
    for secret in (token["access_token"], token["refresh_token"], "ya29.", "1//"):
        assert secret not in row.encrypted_token
    assert session.exec(select(OAuthState).where(OAuthState.purpose == "calendar")).all() == []


def test_the_stored_grant_reaches_the_calendar(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    _user, headers = tutor
    start = clock.now().replace(microsecond=0) + timedelta(days=3)
    booking = Booking(
        tutor_id=TUTOR_ID, start_time=start, end_time=start + timedelta(hours=1),
        price_cents=5000, stripe_checkout_session_id="cs_test_" + secrets.token_hex(6),
        customer_email="student@example.com",
    )
    session.add(booking)
    session.commit()

    callback_url, _ = consent(client, headers)
    follow_callback(client, callback_url, headers)

    # Connecting queued the lesson booked before; the retry job puts it in the calendar.
    session.commit()
    session.expire_all()
    queued = session.get(Booking, booking.id)
    assert queued is not None and queued.calendar_sync_status == "pending"

    calendar_sync.retry_due()
    assert list(google.calendar_events("maria.calendar@gmail.com")) == [
        calendar_sync.event_id_for(booking.id)
    ]


def test_disconnect_revokes_at_google_and_deletes(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    callback_url, _ = consent(client, headers)
    follow_callback(client, callback_url, headers)
    row = connection(session, user)
    assert row is not None
    refresh_token = decrypt_token(row.encrypted_token)["refresh_token"]

    response = client.post("/api/calendar/disconnect", headers=headers)

    assert response.status_code == 303 and response.headers["location"] == "/tutor"
    assert google.revoked == [refresh_token]
    assert connection(session, user) is None
    # The grant is dead at Google too: its refresh token no longer works.
    refresh = httpx.post(google.token_endpoint, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": google.client_id, "client_secret": google.client_secret,
    })
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_reconnecting_replaces_the_grant(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    follow_callback(client, consent(client, headers)[0], headers)
    first = connection(session, user)
    assert first is not None
    first_id, first_token = first.id, decrypt_token(first.encrypted_token)
    google.user = {**GOOGLE_ACCOUNT, "sub": "2", "email": "maria.work@gmail.com"}

    follow_callback(client, consent(client, headers)[0], headers)

    second = connection(session, user)
    assert second is not None
    assert second.id == first_id and second.google_email == "maria.work@gmail.com"
    assert decrypt_token(second.encrypted_token)["refresh_token"] != first_token["refresh_token"]
    assert google.revoked == [first_token["refresh_token"]]  # the old grant is not left live


def test_reconnecting_the_same_account_keeps_its_new_grant_alive(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    follow_callback(client, consent(client, headers)[0], headers)

    follow_callback(client, consent(client, headers)[0], headers)

    # Google revokes per account and app: revoking the old token would kill the new one too.
    assert google.revoked == []
    row = connection(session, user)
    assert row is not None and row.status == "connected"


# -- who may connect -------------------------------------------------------------------------


def test_signed_out_visitor_is_sent_to_sign_in(google: FakeGoogle, client: httpx.Client) -> None:
    response = client.get("/api/calendar/connect")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftutor"


def test_non_tutors_are_refused(
    google: FakeGoogle, client: httpx.Client, session: Session
) -> None:
    _student, headers = signed_in(session, email="student@example.com")
    _unlinked, unlinked_headers = signed_in(session, email="t@example.com", role=Role.TUTOR)

    assert client.get("/api/calendar/connect", headers=headers).status_code == 403
    assert client.get("/api/calendar/connect", headers=unlinked_headers).status_code == 403
    assert client.get("/api/calendar/callback?code=x&state=y", headers=headers).status_code == 403
    assert client.post("/api/calendar/disconnect", headers=headers).status_code == 403
    assert google.requests_to("/authorize") == []


# -- state, PKCE and other refusals ----------------------------------------------------------


def _error_landing(response: httpx.Response) -> None:
    assert response.status_code == 303
    assert response.headers["location"] == "/tutor?calendar=error"


def test_a_wrong_state_is_refused(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    google.state_override = "forged-state"

    _error_landing(follow_callback(client, consent(client, headers)[0], headers))

    assert connection(session, user) is None
    assert google.requests_to("/token") == []  # the code was never redeemed


def test_a_callback_works_once(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    _user, headers = tutor
    callback_url, _ = consent(client, headers)
    assert follow_callback(client, callback_url, headers).status_code == 303

    _error_landing(follow_callback(client, callback_url, headers))
    assert len(google.requests_to("/token")) == 1


def test_someone_elses_state_is_refused(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    _user, headers = tutor
    other, other_headers = signed_in(session, email="liam@example.com", role=Role.TUTOR,
                                     tutor_id="liam-murphy")
    callback_url, _ = consent(client, headers)

    # Another tutor is tricked into opening Maria's callback: it must not attach her Google
    # account to his profile (nor his to hers).
    _error_landing(follow_callback(client, callback_url, other_headers))
    assert connection(session, other) is None


def test_declined_consent_lands_on_the_error_and_uses_up_the_state(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    google.deny_consent = True

    _error_landing(follow_callback(client, consent(client, headers)[0], headers))

    assert connection(session, user) is None
    assert session.exec(select(OAuthState).where(OAuthState.purpose == "calendar")).all() == []


def test_an_id_token_for_another_client_is_refused(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    google.id_token_overrides = {"aud": "someone-else.apps.googleusercontent.com"}

    _error_landing(follow_callback(client, consent(client, headers)[0], headers))
    assert connection(session, user) is None


def test_token_endpoint_failure_lands_on_the_error(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    callback_url, _ = consent(client, headers)
    google.fail_token_endpoint = True

    _error_landing(follow_callback(client, callback_url, headers))
    assert connection(session, user) is None


def test_connect_without_google_configured_lands_on_the_error(
    google: FakeGoogle, client: httpx.Client, tutor: tuple[User, dict[str, str]],
    configure: Callable[..., Settings],
) -> None:
    _user, headers = tutor
    configure(GOOGLE_CLIENT_ID=None, GOOGLE_CLIENT_SECRET=None)

    _error_landing(client.get("/api/calendar/connect", headers=headers))


def test_cross_site_disconnect_is_refused(
    google: FakeGoogle, client: httpx.Client, session: Session,
    tutor: tuple[User, dict[str, str]],
) -> None:
    user, headers = tutor
    follow_callback(client, consent(client, headers)[0], headers)

    response = client.post("/api/calendar/disconnect",
                           headers={**headers, "origin": "https://evil.example"})

    assert response.status_code == 403
    assert connection(session, user) is not None
    assert google.revoked == []
