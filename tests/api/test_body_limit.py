"""Every /api route, and Reflex's upload route, refuses a body past its limit with a 413,
declared or streamed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from tests.fakes.server import ThreadedServer
from tests.stripe_helpers import WEBHOOK_SECRET
from tutor_app.api.body_limit import (
    MAX_BODY_BYTES,
    MAX_UPLOAD_BODY_BYTES,
    MAX_WEBHOOK_BODY_BYTES,
    UPLOAD_PATH,
    BodyLimitMiddleware,
)
from tutor_app.core.settings import Settings
from tutor_app.tutors import media

ConfigureFn = Callable[..., Settings]
CHUNK = 8 * 1024


def _chunks(total: int) -> Iterator[bytes]:
    """A body sent chunked (no Content-Length), `total` bytes of JSON-ish filler."""
    sent = 0
    while sent < total:
        size = min(CHUNK, total - sent)
        sent += size
        yield b" " * size


def _signup_body(padding: int) -> bytes:
    return json.dumps({"email": "ann@example.com", "password": "long enough password",
                       "name": "Ann", "pad": "x" * padding}).encode()


def _is_413(response: httpx.Response) -> bool:
    return response.status_code == 413 and response.json() == {"error": "request body too large"}


def test_a_declared_length_past_the_limit_is_refused(client: httpx.Client) -> None:
    response = client.post("/api/auth/signup", content=_signup_body(MAX_BODY_BYTES),
                           headers={"content-type": "application/json"})

    assert "content-length" in response.request.headers
    assert _is_413(response)


def test_a_chunked_body_past_the_limit_is_refused(client: httpx.Client) -> None:
    response = client.post("/api/auth/signup", content=_chunks(MAX_BODY_BYTES + CHUNK),
                           headers={"content-type": "application/json"})

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert _is_413(response)


def test_a_body_within_the_limit_is_served(client: httpx.Client) -> None:
    response = client.post("/api/auth/signup", content=_signup_body(MAX_BODY_BYTES // 2),
                           headers={"content-type": "application/json"})

    assert response.status_code == 200


@pytest.fixture
def webhook(api_server: ThreadedServer, configure: ConfigureFn) -> str:
    configure(STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    return api_server.url + "/api/stripe/webhook"


def test_the_webhook_has_its_own_larger_limit(webhook: str) -> None:
    headers = {"stripe-signature": "t=1,v1=0", "content-type": "application/json"}

    over_declared = httpx.post(webhook, content=b" " * (MAX_WEBHOOK_BODY_BYTES + 1),
                               headers=headers, timeout=30)
    over_chunked = httpx.post(webhook, content=_chunks(MAX_WEBHOOK_BODY_BYTES + CHUNK),
                              headers=headers, timeout=30)
    # Past the JSON routes' limit but within the webhook's: read, then refused as unsigned.
    within = httpx.post(webhook, content=b" " * (MAX_BODY_BYTES * 2), headers=headers,
                        timeout=30)

    assert _is_413(over_declared)
    assert _is_413(over_chunked)
    assert within.status_code == 400


def test_reading_stops_at_the_first_chunk_past_the_limit() -> None:
    """An endless chunked body: the route is cut off after limit + one chunk, not later."""
    pulled = 0
    sent: list[Message] = []

    async def endless() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        await JSONResponse({"read": len(body)})(scope, receive, send)

    async def collect(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/api/auth/signup",
                    "headers": [], "query_string": b""}
    asyncio.run(BodyLimitMiddleware(route)(scope, endless, collect))

    assert pulled == MAX_BODY_BYTES // CHUNK + 1
    assert sent[0]["status"] == 413


def test_the_upload_route_takes_a_photo_but_no_more(client: httpx.Client) -> None:
    """Reflex's `/_upload` (mounted with the app, not in this API-only server: 404 when the
    body is let through) admits a 5 MB photo and its wrapping, nothing past that."""
    over = client.post(UPLOAD_PATH, content=b" " * (MAX_UPLOAD_BODY_BYTES + 1))
    photo_sized = client.post(UPLOAD_PATH, content=b" " * (MAX_UPLOAD_BODY_BYTES - CHUNK))

    assert _is_413(over)
    assert photo_sized.status_code == 404
    assert MAX_UPLOAD_BODY_BYTES > media.MAX_PHOTO_BYTES > MAX_BODY_BYTES


def test_a_streamed_upload_is_cut_off_past_its_limit() -> None:
    pulled = 0
    sent: list[Message] = []

    async def endless() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}

    async def upload(scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        await JSONResponse({"read": len(body)})(scope, receive, send)

    async def collect(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": UPLOAD_PATH, "headers": [],
                    "query_string": b""}
    asyncio.run(BodyLimitMiddleware(upload)(scope, endless, collect))

    assert pulled == MAX_UPLOAD_BODY_BYTES // CHUNK + 1
    assert sent[0]["status"] == 413
