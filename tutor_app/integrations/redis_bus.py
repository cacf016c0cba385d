"""A best-effort message bus between the app's processes: Redis pub/sub, behind two functions.

`publish` hands the message to one background thread and returns at once, so a caller on the
event loop or in a request's thread never waits on Redis; when Redis is down the message is
logged and dropped. `listen` is a long-running coroutine that subscribes to a channel and
calls back for each message, reconnecting with a growing pause when the connection drops.

Messages may be lost (pub/sub keeps nothing for a process that is not listening), so whatever
rides on this bus must have its own fallback; it only makes the common case fast.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# Short timeouts: a late wake-up is worth nothing, and a stuck Redis must not pile work up.
TIMEOUT_SECONDS = 1.0
# Messages waiting for the publishing thread beyond this are dropped (Redis is stuck or down).
MAX_PENDING = 100
RECONNECT_MAX_SECONDS = 30.0

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis-bus")
_lock = threading.Lock()
_pending = 0
_clients: dict[str, redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
            )
            _clients[url] = client
        return client


def _send(url: str, channel: str, message: str) -> None:
    global _pending
    try:
        _client(url).publish(channel, message)
    except Exception as exc:  # best effort: never fail the caller
        log.warning("redis bus: could not publish on %s: %s", channel, exc)
    finally:
        with _lock:
            _pending -= 1


def publish(url: str, channel: str, message: str) -> bool:
    """Queue `message` for `channel`; False when it was dropped because too many are waiting.

    Never blocks and never raises: delivery happens (or fails, logged) in a background thread.
    """
    global _pending
    with _lock:
        if _pending >= MAX_PENDING:
            log.warning("redis bus: %d messages waiting; dropped one on %s", _pending, channel)
            return False
        _pending += 1
    try:
        _executor.submit(_send, url, channel, message)
    except RuntimeError:  # the interpreter is shutting down
        with _lock:
            _pending -= 1
        return False
    return True


def flush(timeout: float = 5.0) -> bool:
    """Wait until every queued message has been tried (tests, shutdown); True when done."""
    done = _executor.submit(lambda: None)
    try:
        done.result(timeout)
    except TimeoutError:
        return False
    return True


async def listen(
    url: str,
    channel: str,
    on_message: Callable[[str], None],
    *,
    subscribed: Callable[[], None] | None = None,
) -> None:
    """Forever: call `on_message` with each message on `channel`; cancel the task to stop.

    `subscribed` is called each time the subscription is (re)established. `on_message` runs on
    the event loop and must be quick; its errors are logged, never end the loop.
    """
    pause = 0.5
    while True:
        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, health_check_interval=30
        )
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                pause = 0.5
                if subscribed is not None:
                    subscribed()
                while True:
                    # A timeout keeps health checks going on a quiet channel.
                    message = await pubsub.get_message(timeout=10.0)
                    if message is None or message.get("type") != "message":
                        continue
                    data = message["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    try:
                        on_message(text)
                    except Exception:
                        log.exception("redis bus: handler failed for a message on %s", channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis down, or the connection dropped
            log.warning("redis bus: listening on %s failed (%s); retrying in %.1fs",
                        channel, exc, pause)
        finally:
            await client.aclose()
        await asyncio.sleep(pause)
        pause = min(pause * 2, RECONNECT_MAX_SECONDS)
