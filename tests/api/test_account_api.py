"""What the sign-in routes record for the account page: the browser of each sign-in session,
and the browser's time zone on an account that has none yet (OpenID sign-in)."""

from __future__ import annotations

import httpx
from sqlmodel import Session, select

from tests.factories import browser_cookie
from tests.fakes.oidc_provider import FakeOIDCProvider
from tutor_app.accounts import pre_sign_in, sign_in_sessions, users
from tutor_app.core.models import SignInSession, User

PASSWORD = "correct horse battery"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def _user_agents(session: Session) -> list[str | None]:
    session.expire_all()
    rows = session.exec(select(SignInSession)).all()
    session.commit()
    return [row.user_agent for row in rows]


def test_the_handoff_records_the_browser_that_redeems_the_ticket(
    client: httpx.Client, session: Session
) -> None:
    user = users.sign_up(session, email="ann@example.com", password=PASSWORD)
    browser = pre_sign_in.new_value()
    ticket = sign_in_sessions.create_handoff(session, user_id=user.id, browser=browser)
    session.commit()

    response = client.get("/api/auth/session", params={"ticket": ticket},
                          headers={"user-agent": FIREFOX, "cookie": browser_cookie(browser)})

    assert response.status_code == 303
    assert _user_agents(session) == [FIREFOX]


def test_an_api_sign_in_records_its_user_agent(client: httpx.Client, session: Session) -> None:
    users.sign_up(session, email="ann@example.com", password=PASSWORD)
    session.commit()

    response = client.post("/api/auth/login", json={"email": "ann@example.com",
                                                    "password": PASSWORD},
                           headers={"user-agent": SAFARI})

    assert response.status_code == 200
    assert _user_agents(session) == [SAFARI]


def _google_sign_in(client: httpx.Client, *, tz: str) -> httpx.Response:
    start = client.get("/api/auth/login/google", params={"next": "/dashboard"})
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    browser = client.cookies[pre_sign_in.pre_sign_in_cookie_name()]
    client.cookies.clear()
    return client.get(at_provider.headers["location"],
                      headers={"cookie": f"tz={tz}; {browser_cookie(browser)}",
                               "user-agent": FIREFOX})


def test_google_sign_in_saves_the_browser_zone_once(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    first = _google_sign_in(client, tz="Asia%2FTokyo")
    assert first.status_code == 303, first.text

    again = _google_sign_in(client, tz="Europe%2FParis")  # travelling: the saved zone stays
    assert again.status_code == 303

    session.expire_all()
    user = session.exec(select(User).where(User.email == oidc.user["email"])).one()
    assert user.timezone == "Asia/Tokyo"
    assert _user_agents(session) == [FIREFOX, FIREFOX]
