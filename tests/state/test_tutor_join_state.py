"""The tutor invitation page's state (`/tutor/join?token=...`), driven without a browser:
opening it only looks; "Accept" for the invited email's account; "Create the account" signed
out, handed off to the cookie route like the sign-up form and on to `/tutor`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from reflex_base.utils.format import json_dumps
from sqlmodel import Session, select

from tests.factories import browser_cookie, session_cookie
from tests.state.handlers import run, state_on
from tutor_app.accounts import pre_sign_in, sign_in_sessions, users
from tutor_app.core import routes
from tutor_app.core.models import Role, SignInSession, Tutor, User
from tutor_app.core.settings import Settings
from tutor_app.state.auth import RELOAD_TO_SIGN_IN
from tutor_app.state.tutor_join import TutorJoinState
from tutor_app.tutors import invites
from tutor_app.tutors.invites import ACCOUNT_EXISTS, INVITE_DEAD, NAME_NEEDED, OutgoingInvite

PASSWORD = "correct horse battery"
PROFILE = "maria-garcia"
BROWSER = pre_sign_in.new_value()
FORM = browser_cookie(BROWSER)


@pytest.fixture(autouse=True)
def sent() -> Iterator[list[OutgoingInvite]]:
    """Invitations are collected here instead of mailed."""
    outbox: list[OutgoingInvite] = []
    real = invites.mailer()
    invites.register_mailer(outbox.append)
    yield outbox
    assert real is not None
    invites.register_mailer(real)


def _invite(session: Session, email: str = "ann@example.com",
            tutor_id: str | None = PROFILE) -> str:
    token = invites.invite_tutor(session, email=email, tutor_id=tutor_id)
    session.commit()
    return token


def _page(token: str, cookie: str = "") -> TutorJoinState:
    state = state_on(TutorJoinState, f"{routes.TUTOR_JOIN}?token={quote(token, safe='')}",
                     cookie=cookie)
    run(state.on_load())
    return state


def _user(session: Session, email: str) -> User | None:
    session.expire_all()
    found = session.exec(select(User).where(User.email == email)).first()
    session.commit()
    return found


def _redirect_target(spec: Any) -> str:
    assert spec.handler.fn.__qualname__ == "_redirect"
    args = {name._js_expr: value._var_value for name, value in spec.args}
    return str(args["path"])


def _navigation_target(spec: Any) -> str:
    assert spec.handler.fn.__qualname__ == "_call_script"
    args = {name._js_expr: value for name, value in spec.args}
    match = re.fullmatch(r'window\.location\.assign\("([^"]*)"\)',
                         args["javascript_code"]._var_value)
    assert match
    return match.group(1)


def _signed_in(session: Session, email: str) -> tuple[User, str]:
    user = users.sign_up(session, email=email, password=PASSWORD, name="Ann Lee")
    session.commit()
    return user, session_cookie(session, user)


# -- opening the page ------------------------------------------------------------------------


def test_opening_the_page_shows_the_invitation_and_does_not_use_it(session: Session) -> None:
    token = _invite(session)

    state = _page(token)
    again = _page(token)

    assert (state.checked, state.live, again.live) == (True, True, True)
    assert state.invite_email == "ann@example.com"
    assert state.inviter == invites.TEAM
    assert state.profile_name == "María García"
    assert state.signed_in is False
    assert state.join_login_url == "/login?next=" + quote(
        f"/tutor/join?token={quote(token, safe='')}", safe=""
    )
    assert state.join_google_url.startswith("/api/auth/login/google?next=%2Ftutor%2Fjoin%3F")
    assert invites.invite_details(token) is not None


def test_a_new_profile_invitation_names_no_profile(session: Session) -> None:
    state = _page(_invite(session, tutor_id=None))

    assert (state.live, state.profile_name) == (True, "")


def test_a_dead_or_unknown_link_says_so(session: Session) -> None:
    token = _invite(session)
    _invite(session)  # a newer invitation voids it

    assert _page(token).live is False
    assert _page("no-such-token").live is False
    assert _page("").checked is True


# -- signed in: Accept -----------------------------------------------------------------------


def test_the_invited_account_accepts_and_goes_on_to_its_portal(session: Session) -> None:
    user, cookie = _signed_in(session, "ann@example.com")
    state = _page(_invite(session), cookie)
    assert state.email_matches is True
    assert state.wrong_account == ""

    spec = run(state.accept())

    assert _redirect_target(spec) == routes.TUTOR_PORTAL
    found = _user(session, "ann@example.com")
    assert found is not None and (found.role, found.tutor_id) == (Role.TUTOR, PROFILE)
    assert found.id == user.id


def test_another_account_is_told_whose_invitation_it_is_and_cannot_accept(
    session: Session,
) -> None:
    _, cookie = _signed_in(session, "mallory@example.com")
    token = _invite(session)
    state = _page(token, cookie)

    assert state.email_matches is False
    assert state.wrong_account == (
        "This invitation is for ann@example.com. You are signed in as mallory@example.com: "
        "sign out, then open the link again."
    )
    assert run(state.accept()) is None
    assert state.invite_error == state.wrong_account
    mallory = _user(session, "mallory@example.com")
    assert mallory is not None and mallory.role == Role.STUDENT
    assert invites.invite_details(token) is not None


def test_accepting_a_link_used_meanwhile_shows_it_dead(session: Session) -> None:
    _, cookie = _signed_in(session, "ann@example.com")
    token = _invite(session)
    state = _page(token, cookie)
    _invite(session)  # voided after the page opened

    assert run(state.accept()) is None

    assert (state.live, state.invite_error) == (False, INVITE_DEAD)


def test_accept_after_signing_out_elsewhere_goes_to_sign_in(session: Session) -> None:
    _, cookie = _signed_in(session, "ann@example.com")
    token = _invite(session)
    state = _page(token, cookie)
    sign_in_sessions.revoke_session(session, token=sign_in_sessions.token_from_cookie_header(
        cookie))
    session.commit()

    spec = run(state.accept())

    assert _redirect_target(spec).startswith("/login?next=%2Ftutor%2Fjoin%3Ftoken%3D")
    assert invites.invite_details(token) is not None


# -- signed out: Create the account ----------------------------------------------------------


def test_creating_the_account_signs_the_new_tutor_in_on_the_portal(session: Session) -> None:
    token = _invite(session, tutor_id=None)
    state = _page(token, f"{FORM}; tz=Asia%2FTokyo")

    spec = asyncio.run(state.submit({"name": " Ann Lee ", "password": PASSWORD,
                                     "email": "mallory@example.com"}))

    target = urlsplit(_navigation_target(spec))
    assert target.path == sign_in_sessions.HANDOFF_PATH
    query = parse_qs(target.query)
    assert query["next"] == [routes.TUTOR_PORTAL]
    redeemed = sign_in_sessions.redeem_handoff(session, ticket=query["ticket"][0],
                                                browser=BROWSER)
    session.commit()
    assert redeemed is not None
    user = redeemed[1]
    assert (user.email, user.name, user.email_verified) == ("ann@example.com", "Ann Lee", True)
    assert (user.role, user.tutor_id) == (Role.TUTOR, "ann-lee")
    profile = session.get(Tutor, "ann-lee")
    assert profile is not None and profile.timezone == "Asia/Tokyo"
    assert _user(session, "mallory@example.com") is None  # the email field is not read


def test_creating_the_account_needs_this_browsers_pre_sign_in_cookie(session: Session) -> None:
    token = _invite(session)
    state = _page(token, "theme=dark")

    spec = asyncio.run(state.submit({"name": "Ann", "password": PASSWORD}))

    assert spec is None
    assert state.form_error == RELOAD_TO_SIGN_IN
    assert _user(session, "ann@example.com") is None
    assert invites.invite_details(token) is not None


def test_creating_the_account_shows_each_wrong_field(session: Session) -> None:
    token = _invite(session)
    state = _page(token, FORM)

    spec = asyncio.run(state.submit({"name": "", "password": "short"}))

    assert spec is None
    assert (state.name_error, state.password_error) == (NAME_NEEDED, users.SHORT_PASSWORD)
    assert invites.invite_details(token) is not None


def test_creating_an_account_that_exists_says_to_sign_in(session: Session) -> None:
    users.sign_up(session, email="ann@example.com", password="the owner's password")
    session.commit()
    state = _page(_invite(session), FORM)

    spec = asyncio.run(state.submit({"name": "Ann", "password": PASSWORD}))

    assert spec is None
    assert state.form_error == ACCOUNT_EXISTS
    assert state.live is True


def test_creating_the_account_with_a_dead_link_shows_it_dead(session: Session) -> None:
    token = _invite(session)
    state = _page(token, FORM)
    _invite(session)

    assert asyncio.run(state.submit({"name": "Ann", "password": PASSWORD})) is None

    assert (state.live, state.invite_error) == (False, INVITE_DEAD)
    assert _user(session, "ann@example.com") is None


def test_google_button_comes_back_to_this_page(
    session: Session, configure: Callable[..., Settings]
) -> None:
    configure(GOOGLE_CLIENT_ID="id.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET="s")
    token = _invite(session)

    state = _page(token)

    assert state.google_login_enabled is True
    next_path = parse_qs(urlsplit(state.join_google_url).query)["next"][0]
    assert next_path == f"{routes.TUTOR_JOIN}?token={quote(token, safe='')}"
    assert sign_in_sessions.safe_next(next_path) == next_path
    assert session.exec(select(SignInSession)).all() == []


def test_no_state_var_holds_the_password_or_the_ticket(session: Session) -> None:
    state = _page(_invite(session), FORM)

    spec = asyncio.run(state.submit({"name": "Ann", "password": PASSWORD}))
    ticket = parse_qs(urlsplit(_navigation_target(spec)).query)["ticket"][0]

    sent = json_dumps(state._get_root_state().dict())  # serialised as deltas to the browser are
    assert PASSWORD not in sent
    assert ticket not in sent
