"""The shared OAuth client's state rows (`tutor_app.integrations.oauth`): single use, per flow.

The network parts (discovery, keys, token exchange, revocation) are tested against the local
fake providers in tests/api.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tutor_app.core import clock
from tutor_app.core.models import OAuthState
from tutor_app.integrations import oauth
from tutor_app.integrations.oauth import OAuthFlowError


def _new(session: Session, purpose: str = "login", user_id: str | None = None) -> OAuthState:
    row = oauth.new_state(session, purpose=purpose, provider="google", user_id=user_id)
    session.commit()
    return row


def _consume(session: Session, state: str, purpose: str = "login",
             user_id: str | None = None) -> OAuthState:
    try:
        return oauth.consume_state(
            session, state=state, purpose=purpose, provider="google", user_id=user_id
        )
    finally:
        session.commit()  # a refused state is used up too


def _left(session: Session) -> list[str]:
    return list(session.exec(select(OAuthState.state)).all())


def test_a_state_carries_a_fresh_nonce_and_a_pkce_verifier(session: Session) -> None:
    first, second = _new(session), _new(session)

    assert len({first.state, second.state}) == 2
    assert len({first.nonce, second.nonce}) == 2
    assert 43 <= len(first.code_verifier) <= 128


def test_a_state_works_once(session: Session) -> None:
    row = _new(session)
    state = row.state

    assert _consume(session, state).nonce == row.nonce
    with pytest.raises(OAuthFlowError, match="unknown or already used"):
        _consume(session, state)


@pytest.mark.parametrize(
    ("started", "presented", "reason"),
    [
        pytest.param(("login", None), ("calendar", "u1"), "another flow",
                     id="login-state-at-the-calendar-callback"),
        pytest.param(("calendar", "u1"), ("calendar", "u2"), "another user",
                     id="someone-elses-calendar-state"),
        pytest.param(("calendar", "u1"), ("calendar", None), "another user",
                     id="calendar-state-without-its-user"),
    ],
)
def test_a_state_of_another_flow_or_user_is_refused_and_used_up(
    session: Session, started: tuple[str, str | None], presented: tuple[str, str | None],
    reason: str,
) -> None:
    state = _new(session, purpose=started[0], user_id=started[1]).state

    with pytest.raises(OAuthFlowError, match=reason):
        _consume(session, state, purpose=presented[0], user_id=presented[1])
    assert state not in _left(session)


@pytest.mark.parametrize(
    "presented", [pytest.param("b" * 64, id="another-browser"), pytest.param(None, id="none")]
)
def test_a_state_bound_to_a_browser_is_refused_elsewhere_and_used_up(
    session: Session, presented: str | None
) -> None:
    row = oauth.new_state(session, purpose="login", provider="google", browser_hash="a" * 64)
    session.commit()
    state = row.state

    with pytest.raises(OAuthFlowError, match="another browser"):
        try:
            oauth.consume_state(session, state=state, purpose="login", provider="google",
                                browser_hash=presented)
        finally:
            session.commit()
    assert state not in _left(session)


def test_a_state_bound_to_a_browser_passes_in_that_browser(session: Session) -> None:
    row = oauth.new_state(session, purpose="login", provider="google", browser_hash="a" * 64)
    session.commit()

    taken = oauth.consume_state(session, state=row.state, purpose="login", provider="google",
                                browser_hash="a" * 64)

    assert taken.browser_hash == "a" * 64


def test_an_expired_state_is_refused_and_swept_by_later_ones(session: Session) -> None:
    stale = _new(session)
    stale_state = stale.state
    stale.created_at = clock.now() - oauth.STATE_MAX_AGE - timedelta(seconds=1)
    session.add(stale)
    session.commit()
    with pytest.raises(OAuthFlowError, match="expired"):
        _consume(session, stale_state)

    old = _new(session, purpose="calendar", user_id="u1")
    old_state = old.state
    old.created_at = clock.now() - oauth.STATE_MAX_AGE - timedelta(seconds=1)
    session.add(old)
    session.commit()
    fresh = _new(session).state

    assert _left(session) == [fresh] and old_state != fresh


@pytest.mark.parametrize("state", ["", "x" * 129])
def test_a_missing_or_overlong_state_is_refused(session: Session, state: str) -> None:
    with pytest.raises(OAuthFlowError, match="malformed"):
        _consume(session, state)


def test_without_client_credentials_nothing_starts(
    configure: object, session: Session
) -> None:
    configure(GOOGLE_CLIENT_ID=None, GOOGLE_CLIENT_SECRET=None)  # type: ignore[operator]

    assert not oauth.is_configured()
    with pytest.raises(oauth.OAuthNotConfigured):
        oauth.client_credentials()
