"""Sign-in in Chromium with an OpenID Connect issuer that gives the email in UserInfo only.

Google puts `email` in the id_token; other issuers may give it only at their UserInfo endpoint
(OpenID Connect Core 5.4). The live app's provider is the local `fake_google`, switched to act
like such an issuer: "Continue with Google" still signs the visitor in, with that email.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from tests.e2e.app_server import wait_for_backend
from tests.e2e.conftest import Shots
from tests.e2e.steps import expect_signed_in_as, goto
from tests.fakes.fake_google import FakeGoogle
from tutor_app.core.models import OAuthIdentity, User

pytestmark = pytest.mark.e2e


@pytest.fixture
def userinfo_only_issuer(fake_google: FakeGoogle) -> Iterator[FakeGoogle]:
    """The live app's provider, leaving the email out of id_tokens for this test only (it is
    shared by the package's tests)."""
    saved_user, saved_switch = copy.deepcopy(fake_google.user), fake_google.email_only_in_userinfo
    fake_google.email_only_in_userinfo = True
    yield fake_google
    fake_google.user, fake_google.email_only_in_userinfo = saved_user, saved_switch


def test_sign_in_with_an_issuer_that_gives_the_email_in_userinfo_only(
    page: Page, shot: Shots, new_email: Callable[[str], str],
    userinfo_only_issuer: FakeGoogle, _engine: sa.Engine,
) -> None:
    email = new_email("issuer")
    userinfo_only_issuer.user = {"sub": "sub-" + email, "email": email, "email_verified": True,
                                 "name": "Olga Issuer"}
    asked_before = len(userinfo_only_issuer.requests_to("/userinfo"))

    goto(page, "/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(quote("/dashboard", ""))))
    # The page load gave this browser its pre-sign-in cookie, which the sign-in is bound to.
    (pre_sign_in,) = [c for c in page.context.cookies() if c["name"] == "tutor_pre_sign_in"]
    assert pre_sign_in["httpOnly"] and pre_sign_in["sameSite"] == "Lax"
    shot("sign in page")

    page.click("#google-login")

    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    wait_for_backend(page)
    expect_signed_in_as(page, "Olga Issuer")
    shot("signed in through the issuer")
    # The id_token had no email: the app asked UserInfo, and the account carries that email.
    assert len(userinfo_only_issuer.requests_to("/userinfo")) > asked_before
    with Session(_engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        assert user.email_verified and user.password_hash is None
        identity = db.exec(select(OAuthIdentity).where(OAuthIdentity.user_id == user.id)).one()
        assert identity.subject == "sub-" + email
