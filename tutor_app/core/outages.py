"""Which exceptions mean "a backing service is briefly down", not "the code is wrong".

PostgreSQL restarting, a dropped connection, a pool with no connection to give, or Redis
(Reflex's state store) unreachable: the request could not be served now and will be once the
service is back. The API answers those with 503 and Retry-After (`api.unavailable`), a page
event with a "briefly unavailable" message (`state.unavailable`); everything else stays a bug.
"""

from __future__ import annotations

import redis.exceptions
from sqlalchemy import exc as sa_exc

# How long a client should wait before trying again, in seconds (Retry-After).
RETRY_AFTER_SECONDS = 5

_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def is_outage(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, is a lost or refused connection
    to the database or to Redis (or no pooled connection in time)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_outage_itself(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_outage_itself(exc: BaseException) -> bool:
    if isinstance(exc, _REDIS_DOWN):
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        # OperationalError covers refused connections, "terminating connection due to
        # administrator command", "the database system is shutting down/starting up";
        # `connection_invalidated` marks any error that broke the connection itself.
        return exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return False
