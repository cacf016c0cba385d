"""The Redis bus and the cross-process "booked" signal, against the real Redis on 127.0.0.1:6379.

Every test uses a channel of its own, so parallel runs never hear each other.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest
import redis

from tests.fakes.server import free_port
from tutor_app.booking import signals
from tutor_app.core.settings import Settings
from tutor_app.integrations import redis_bus

REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
def channel() -> str:
    redis.Redis.from_url(REDIS_URL).ping()  # fail clearly when Redis is not running
    return f"test:{uuid.uuid4().hex}"


def _dead_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}"  # nothing listens there


async def _subscribed_listener(
    url: str, channel: str, heard: list[str]
) -> asyncio.Task[None]:
    ready = asyncio.Event()
    task = asyncio.create_task(redis_bus.listen(url, channel, heard.append, subscribed=ready.set))
    await asyncio.wait_for(ready.wait(), 5)
    return task


def test_a_published_message_reaches_a_listener(channel: str) -> None:
    async def scenario() -> list[str]:
        heard: list[str] = []
        task = await _subscribed_listener(REDIS_URL, channel, heard)
        try:
            assert redis_bus.publish(REDIS_URL, channel, "cs_hello")
            for _ in range(100):
                if heard:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
        return heard

    assert asyncio.run(scenario()) == ["cs_hello"]


def test_publishing_to_a_dead_redis_returns_at_once_and_never_raises(channel: str) -> None:
    started = time.monotonic()
    assert redis_bus.publish(_dead_redis_url(), channel, "cs_lost") is True
    assert time.monotonic() - started < 0.05
    assert redis_bus.flush(timeout=5)  # the attempt failed (logged) in the background thread


def test_a_listener_retries_until_redis_answers_and_can_be_cancelled(channel: str) -> None:
    async def scenario() -> bool:
        task = asyncio.create_task(redis_bus.listen(_dead_redis_url(), channel, print))
        await asyncio.sleep(0.3)
        still_trying = not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return still_trying

    assert asyncio.run(scenario()) is True


def test_a_failing_handler_does_not_stop_the_listener(channel: str) -> None:
    heard: list[str] = []

    def handler(message: str) -> None:
        heard.append(message)
        if message == "boom":
            raise ValueError(message)

    async def scenario() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(
            redis_bus.listen(REDIS_URL, channel, handler, subscribed=ready.set)
        )
        await asyncio.wait_for(ready.wait(), 5)
        redis_bus.publish(REDIS_URL, channel, "boom")
        redis_bus.publish(REDIS_URL, channel, "after")
        for _ in range(100):
            if len(heard) == 2:
                break
            await asyncio.sleep(0.02)
        task.cancel()

    asyncio.run(scenario())
    assert heard == ["boom", "after"]


# --- the booked signal across processes ---------------------------------------------------


@pytest.fixture
def redis_signals(
    channel: str, monkeypatch: pytest.MonkeyPatch, configure: Callable[..., Settings]
) -> str:
    """The app's settings point at the real Redis; the signal rides this test's channel."""
    configure(REDIS_URL=REDIS_URL)
    monkeypatch.setattr(signals, "CHANNEL", channel)
    return channel


def test_a_booking_in_another_process_wakes_the_waiter_here(redis_signals: str) -> None:
    session_id = f"cs_other_{uuid.uuid4().hex[:8]}"
    # Another process (another node) publishes, as its notify_booked does.
    other_process = [
        sys.executable, "-c",
        "import sys, redis; redis.Redis.from_url(sys.argv[1]).publish(sys.argv[2], sys.argv[3])",
        REDIS_URL, redis_signals, session_id,
    ]

    async def scenario() -> tuple[bool, float]:
        ready = asyncio.Event()
        relay = asyncio.create_task(signals.relay_booked_signals(subscribed=ready.set))
        await asyncio.wait_for(ready.wait(), 5)
        waiter = asyncio.create_task(signals.wait_for_booking(session_id, timeout=10))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await asyncio.to_thread(subprocess.run, other_process, check=True)
        woke = await waiter
        relay.cancel()
        return woke, time.monotonic() - started

    woke, waited = asyncio.run(scenario())
    assert woke is True
    assert waited < 2  # the subprocess's start-up included; the database re-check would be 2 s


def test_notify_booked_publishes_the_session_id(redis_signals: str) -> None:
    pubsub = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(redis_signals)
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    signals.notify_booked("cs_published")
    message = pubsub.get_message(timeout=5)
    pubsub.close()
    assert message is not None and message["data"] == b"cs_published"


def test_notify_booked_with_redis_down_still_wakes_local_waiters(
    redis_signals: str, configure: Callable[..., Settings]
) -> None:
    configure(REDIS_URL=_dead_redis_url())

    async def scenario() -> tuple[bool, float]:
        waiter = asyncio.create_task(signals.wait_for_booking("cs_redis_down", timeout=5))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        signals.notify_booked("cs_redis_down")  # on the event loop: must not wait on Redis
        spent = time.monotonic() - started
        return await waiter, spent

    woke, spent = asyncio.run(scenario())
    assert woke is True
    assert spent < 0.05
    assert redis_bus.flush(timeout=5)


def test_without_redis_the_relay_has_nothing_to_do(configure: Callable[..., Settings]) -> None:
    configure(REDIS_URL=None)
    asyncio.run(asyncio.wait_for(signals.relay_booked_signals(), 1))
