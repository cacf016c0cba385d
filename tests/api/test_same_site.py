"""The one same-site check, on every state-changing route of the API, over real HTTP.

The route list comes from `api_routes()`, so a POST route added later is covered (or, when
it forgets `@same_site_only`, fails the first test).
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session
from starlette.routing import Route

from tests.fakes.server import ThreadedServer
from tutor_app.accounts import sign_in_sessions
from tutor_app.api import api_routes
from tutor_app.api.same_site import is_guarded
from tutor_app.core.models import Role, User

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Server to server, authenticated by Stripe's signature; browsers never post there.
UNGUARDED = {"/api/stripe/webhook"}
CROSS_SITE_HEADERS = [
    pytest.param({"origin": "https://evil.example"}, id="foreign-origin"),
    pytest.param({"origin": "null"}, id="opaque-origin"),
    pytest.param({"sec-fetch-site": "cross-site"}, id="sec-fetch-site"),
]


def _state_changing_routes() -> list[Route]:
    return [
        route for route in api_routes()
        if isinstance(route, Route) and STATE_CHANGING & set(route.methods or ())
    ]


def _guarded_paths() -> list[str]:
    return [
        route.path.replace("{booking_id}", "cnosuchbooking0000000000000")
        for route in _state_changing_routes() if route.path not in UNGUARDED
    ]



@pytest.fixture
def signed_in(session: Session) -> dict[str, str]:
    """A tutor's session cookie: every route would act for them, were it not refused."""
    user = User(email="maria@example.com", name="Maria", role=Role.TUTOR,
                tutor_id="maria-garcia")
    session.add(user)
    session.commit()
    token = sign_in_sessions.create_session(session, user_id=user.id)
    session.commit()
    return {"cookie": f"{sign_in_sessions.session_cookie_name()}={token}"}


def test_every_state_changing_route_but_the_webhook_is_guarded() -> None:
    routes = _state_changing_routes()
    assert len(routes) >= 7
    assert [r.path for r in routes if not is_guarded(r.endpoint)] == sorted(UNGUARDED)


@pytest.mark.parametrize("path", _guarded_paths())
@pytest.mark.parametrize("cross_site", CROSS_SITE_HEADERS)
def test_a_cross_site_post_is_refused(
    client: httpx.Client, signed_in: dict[str, str], path: str, cross_site: dict[str, str]
) -> None:
    response = client.post(path, json={}, headers={**signed_in, **cross_site})

    assert response.status_code == 403
    assert response.json() == {"error": "cross-site request refused"}
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("path", _guarded_paths())
def test_the_same_post_from_the_site_itself_is_not_refused(
    client: httpx.Client, signed_in: dict[str, str], api_server: ThreadedServer, path: str
) -> None:
    headers = {**signed_in, "origin": api_server.url, "sec-fetch-site": "same-origin"}

    assert client.post(path, json={}, headers=headers).status_code != 403


def test_a_refused_sign_out_leaves_the_session_alive(
    client: httpx.Client, signed_in: dict[str, str]
) -> None:
    refused = client.post("/api/auth/logout",
                          headers={**signed_in, "origin": "https://evil.example"})

    assert refused.status_code == 403
    assert client.get("/api/auth/me", headers=signed_in).status_code == 200
