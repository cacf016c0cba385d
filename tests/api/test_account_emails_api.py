"""The account-takeover fixes over real HTTP: a sign-up for an unclaimed email waits on its
mailbox (202, no cookie), and a verified Google identity takes an unverified account from
whoever signed it up (their cookie and password stop working)."""

from __future__ import annotations

import httpx
from sqlmodel import Session

from tests.api.test_auth_api import (
    PASSWORD,
    _login,
    _me,
    _no_session_cookie,
    _oidc_sign_in,
    _set_cookie,
    _signup,
)
from tests.fakes.oidc_provider import FakeOIDCProvider
from tests.fakes.smtp_server import SmtpServer
from tests.mail_links import token_in
from tutor_app.accounts import email_verification, users
from tutor_app.core import routes
from tutor_app.core.models import User


def test_signup_for_an_unclaimed_email_answers_202_and_no_cookie(
    client: httpx.Client, session: Session, mailbox: SmtpServer
) -> None:
    unclaimed = users.find_or_create_by_email(session, email="ann@example.com")
    session.commit()

    response = _signup(client, email="Ann@example.com")

    assert response.status_code == 202
    assert response.json() == {
        "message": "We sent a link to ann@example.com. Open it to finish creating your account."
    }
    assert _no_session_cookie(response)
    assert response.headers["cache-control"] == "no-store"
    session.expire_all()
    assert session.get(User, unclaimed.id).password_hash is None  # type: ignore[union-attr]
    token = token_in(mailbox.wait_for(1)[0], routes.VERIFY_EMAIL)

    assert email_verification.verify_email(token) is not None
    assert _login(client, "ann@example.com", PASSWORD).status_code == 200


def test_signup_of_a_new_email_signs_in_and_mails_a_verification_link(
    client: httpx.Client, mailbox: SmtpServer
) -> None:
    response = _signup(client, email="new@example.com")

    assert response.status_code == 200
    assert _me(client, _set_cookie(response)["value"]).status_code == 200
    assert mailbox.wait_for(1)[0].rcpt_tos == ("new@example.com",)


def test_a_verified_google_identity_takes_over_an_unverified_account(
    client: httpx.Client, oidc: FakeOIDCProvider, session: Session
) -> None:
    # Someone signed up first with the address the Google account owns, and never verified it.
    squatter = _signup(client, email=oidc.user["email"])
    squatter_cookie = _set_cookie(squatter)["value"]
    assert _me(client, squatter_cookie).status_code == 200

    callback = _oidc_sign_in(client)

    owner_cookie = _set_cookie(callback)["value"]
    assert _me(client, owner_cookie).json()["user"]["id"] == squatter.json()["user"]["id"]
    assert _me(client, squatter_cookie).status_code == 401
    assert _login(client, oidc.user["email"], PASSWORD).status_code == 400
    user = session.get(User, squatter.json()["user"]["id"])
    assert user is not None and user.email_verified and user.password_hash is None
