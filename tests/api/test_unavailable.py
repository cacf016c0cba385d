"""A database or Redis outage answers 503 with Retry-After, never a 500 (`api.unavailable`).

The real API (`api_server`) is pointed at a PostgreSQL address that refuses connections; the
middleware itself is also driven directly, to show that other errors stay 500s. The outage
end to end (a real PostgreSQL stopped and started under load) is
tests/e2e/test_faults_postgres.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import redis.exceptions
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.factories import signed_in_user
from tests.fakes.server import ThreadedServer, free_port
from tutor_app.api.unavailable import UnavailableMiddleware
from tutor_app.core import db as app_db
from tutor_app.core.outages import RETRY_AFTER_SECONDS, is_outage


@pytest.fixture
def database_down(database: sa.Engine) -> Iterator[None]:
    """The app's engine points at a port where no PostgreSQL listens; restored after."""
    app_db.use_engine(app_db.build_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/x"))
    try:
        yield
    finally:
        app_db.use_engine(database)


def test_a_signed_in_api_call_answers_503_while_the_database_is_down(
    api_server: ThreadedServer, database: sa.Engine, database_down: None
) -> None:
    with Session(database) as db:
        _user, cookie = signed_in_user(db)
    response = httpx.get(api_server.url + "/api/auth/me", headers={"Cookie": cookie})
    assert response.status_code == 503
    assert response.json() == {"error": "temporarily unavailable"}
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.headers["cache-control"] == "no-store"


def _raising(exc: Exception) -> Starlette:
    def route(_request: Request) -> Response:
        raise exc

    return Starlette(routes=[Route("/", route)], middleware=[Middleware(UnavailableMiddleware)])


def _get(app: Starlette) -> httpx.Response:
    """GET / on `app` in this process (an exception the app lets out is its 500)."""

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/")

    return asyncio.run(get())


@pytest.mark.parametrize("exc", [
    sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused")),
    sa_exc.TimeoutError("QueuePool limit reached"),
    redis.exceptions.ConnectionError("Error 111 connecting"),
])
def test_outage_errors_answer_503(exc: Exception) -> None:
    response = _get(_raising(exc))
    assert (response.status_code, response.json()) == (503, {"error": "temporarily unavailable"})
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("exc", [
    RuntimeError("a bug"),
    sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
])
def test_other_errors_stay_500(exc: Exception) -> None:
    response = _get(_raising(exc))
    assert response.status_code == 500
    assert not is_outage(exc)


def test_an_error_raised_from_an_outage_is_an_outage() -> None:
    try:
        try:
            raise redis.exceptions.ConnectionError("Error 111")
        except redis.exceptions.ConnectionError as inner:
            raise RuntimeError("could not load the state") from inner
    except RuntimeError as outer:
        assert is_outage(outer)
