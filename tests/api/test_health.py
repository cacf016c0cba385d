"""GET /api/health over HTTP: the database and Redis reported apart, each check bounded.

"Down" is real: a PostgreSQL URL or a Redis port where nothing listens (connection refused),
or a socket that accepts and never answers (the check's timeout).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.fakes.server import ThreadedServer, free_port
from tutor_app.api import health
from tutor_app.core import db as app_db
from tutor_app.core.settings import Settings

ConfigureFn = Callable[..., Settings]
REDIS_URL = "redis://127.0.0.1:6379/0"  # the suite's Redis (see README, What `make test` needs)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def fresh_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hung check left from another test; a short timeout."""
    monkeypatch.setattr(health, "_running", {})
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 1.0)


def _database_down(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    monkeypatch.setattr(app_db, "_engine", app_db.build_engine(url))


def test_without_redis_configured_it_is_ok(client: httpx.Client, configure: ConfigureFn) -> None:
    configure(REDIS_URL=None)
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "redis": "not configured"}
    assert response.headers["cache-control"] == "no-store"


def test_with_redis_up_it_is_ok(client: httpx.Client, configure: ConfigureFn) -> None:
    configure(REDIS_URL=REDIS_URL)
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "redis": "up"}


def test_redis_down_is_degraded_but_200(
    client: httpx.Client, configure: ConfigureFn, fresh_checks: None
) -> None:
    configure(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    response = client.get("/api/health")
    assert response.status_code == 200  # the webhook needs only the database: stay in rotation
    assert response.json() == {"status": "degraded", "database": "up", "redis": "down"}


def test_database_down_is_503_whatever_redis_says(
    client: httpx.Client, configure: ConfigureFn, monkeypatch: pytest.MonkeyPatch,
    fresh_checks: None,
) -> None:
    configure(REDIS_URL=REDIS_URL)
    _database_down(monkeypatch, free_port())
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "redis": "up"}

    configure(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "redis": "down"}


def test_hung_dependencies_answer_down_within_the_timeout(
    client: httpx.Client, configure: ConfigureFn, monkeypatch: pytest.MonkeyPatch,
    fresh_checks: None, silent_port: int,
) -> None:
    configure(REDIS_URL=f"redis://127.0.0.1:{silent_port}/0")
    _database_down(monkeypatch, silent_port)
    started = time.monotonic()
    response = client.get("/api/health")
    took = time.monotonic() - started
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "redis": "down"}
    assert took < 1.0 + 0.75  # both checks ran at once, within the one timeout
    # While the database check still hangs, another probe does not start a second one.
    started = time.monotonic()
    again = client.get("/api/health")
    assert again.json()["database"] == "down" and time.monotonic() - started < 1.75


def test_probes_at_the_same_moment_share_one_check_and_all_see_it_up(
    client: httpx.Client, configure: ConfigureFn, monkeypatch: pytest.MonkeyPatch,
    fresh_checks: None, api_server: ThreadedServer,
) -> None:
    """A load balancer and a monitor asking at once: a slow (not hung) database check in
    flight is joined, never taken for a hang, and runs once."""
    configure(REDIS_URL=None)
    calls: list[float] = []
    real_check = health.check_database

    def slow_check() -> None:
        calls.append(time.monotonic())
        time.sleep(0.4)
        real_check()

    monkeypatch.setattr(health, "check_database", slow_check)

    def probe() -> int:
        with httpx.Client(base_url=api_server.url, timeout=10) as own:
            return own.get("/api/health").status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        codes = list(pool.map(lambda _: probe(), range(5)))

    assert codes == [200] * 5
    assert len(calls) < 5  # joined, not one check per probe
