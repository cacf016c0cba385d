"""GET /api/health: is this node able to work? The database and Redis, each checked apart.

    {"status": "ok" | "degraded" | "unavailable",
     "database": "up" | "down", "redis": "up" | "down" | "not configured"}

- 503 `unavailable` only when the database is down: nothing works without it, and a load
  balancer should stop sending traffic (Stripe retries the webhook later).
- 200 `degraded` when the database is up but the configured Redis is down: the pages'
  websocket (Reflex state lives in Redis) fails, but the webhook, reconciliation, the jobs and
  the API need only the database, so the node must stay in rotation to take Stripe's
  events; alert on `degraded` instead.
- 200 `ok` otherwise; `redis` is `not configured` without `REDIS_URL` (one worker, state in
  memory).

Each check is bounded by CHECK_TIMEOUT seconds: it runs in a small pool of its own and a
check that does not answer in time counts as down. Probes at the same moment share one check
in flight (a load balancer and a monitor asking at once must not see each other as a hang);
a check older than CHECK_TIMEOUT that still runs is hung, is not started again while it
hangs (probes cannot pile threads up), and the dependency counts as down meanwhile. The route
is sync, so Starlette runs it in its thread pool, off the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tutor_app.core import db as app_db
from tutor_app.core.settings import get_settings

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds, per dependency
UP, DOWN, NOT_CONFIGURED = "up", "down", "not configured"

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
_running: dict[str, tuple[Future[None], float]] = {}  # name: (the check, its monotonic start)
_lock = threading.Lock()


def check_database() -> None:
    """Raise unless the database answers `SELECT 1`."""
    with app_db.engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def check_redis(url: str) -> None:
    """Raise unless Redis at `url` answers PING within CHECK_TIMEOUT."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def _start(name: str, check: Callable[[], None]) -> Future[None] | None:
    """Run `check` in the health pool, or join the `name` check already in flight; None while
    an earlier one hangs (still running CHECK_TIMEOUT after it started)."""
    now = time.monotonic()
    with _lock:
        previous = _running.get(name)
        if previous is not None and not previous[0].done():
            running, started = previous
            if now - started < CHECK_TIMEOUT:
                return running
            log.warning("health check: %s still hanging from an earlier probe", name)
            return None
        future = _pool.submit(check)
        _running[name] = (future, now)
        return future


def _outcome(name: str, future: Future[None] | None, deadline: float) -> str:
    """UP when `future` finished without error by `deadline` (monotonic); else DOWN."""
    if future is None:
        return DOWN
    try:
        future.result(timeout=max(deadline - time.monotonic(), 0.0))
    except FutureTimeout:
        log.warning("health check: %s did not answer within %.1fs", name, CHECK_TIMEOUT)
        return DOWN
    except Exception as exc:
        log.warning("health check: %s unreachable (%s)", name, type(exc).__name__)
        return DOWN
    return UP


def check_all() -> dict[str, str]:
    """{"status", "database", "redis"}: both checks at once, within CHECK_TIMEOUT together."""
    redis_url = get_settings().redis_url
    deadline = time.monotonic() + CHECK_TIMEOUT
    database_check = _start("database", check_database)
    redis_check = _start("redis", lambda: check_redis(redis_url)) if redis_url else None
    database = _outcome("database", database_check, deadline)
    cache = _outcome("redis", redis_check, deadline) if redis_url else NOT_CONFIGURED
    if database == DOWN:
        status = "unavailable"
    elif cache == DOWN:
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, "database": database, "redis": cache}


def health(_request: Request) -> JSONResponse:
    """The route: `check_all()`, 503 only when the database is down."""
    report = check_all()
    return JSONResponse(
        report, status_code=503 if report["database"] == DOWN else 200,
        headers={"Cache-Control": "no-store"},
    )


routes = [Route("/api/health", health, methods=["GET"])]
