"""A local fake of Google for the calendar integration: OAuth (FakeOIDCProvider) + Calendar v3.

It extends `FakeOIDCProvider`, so the access tokens the Calendar endpoints accept are exactly
the ones its /token endpoint issued: an expired token gets a 401 and google-auth must refresh
at /token, a revoked grant gets a 401 and the refresh an `invalid_grant`, as at Google. The
real google-api-python-client talks to it unchanged over HTTP:

    with FakeGoogle() as google:
        configure(OIDC_DISCOVERY_URL=google.discovery_url, GOOGLE_API_BASE=google.api_root, ...)
        token = google.issue_token(email="tutor@example.com")   # or the real consent flow
        ...
        assert [c.method for c in google.calendar_calls] == ["POST"]

Calendar behaviour mirrored from Google's: client-supplied event ids must be base32hex
(a-v, 0-9, 5-1024 chars) and a second insert with the same id is 409 "duplicate" (deleted
events keep their id); deleting twice is 410; PATCH merges; a cancelled event can be patched
back to "confirmed"; freeBusy reports non-transparent events and `busy` set by the test.

Switches: `fail_next(status, reason=..., times=..., method=...)` answers the next matching
Calendar requests with a Google error; `calendar_delay` (seconds) stalls inserts so racing
clients overlap. `reset()` clears everything.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.oidc_provider import FakeOIDCProvider, _AccessToken, _Grant

__all__ = ["CALENDAR_SCOPE", "CalendarCall", "FakeGoogle"]

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events"
_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


@dataclass(frozen=True)
class CalendarCall:
    """One request to the Calendar API as the fake saw it (and what it answered)."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    status: int


def _error(status: int, reason: str, message: str) -> JSONResponse:
    body = {
        "error": {
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "code": status,
            "message": message,
        }
    }
    return JSONResponse(body, status_code=status)


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fmt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGoogle(FakeOIDCProvider):
    """FakeOIDCProvider plus the Calendar v3 endpoints the app uses, on the same server.

    Read: `events` ({calendar email: {event id: event}}), `calendar_calls` (every Calendar
    request, oldest first). Set: `busy` ({calendar email: [(start, end), ...]} of datetimes)
    for freeBusy, `calendar_delay`, and `fail_next(...)`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: dict[str, dict[str, dict[str, Any]]] = {}
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}
        self.calendar_calls: list[CalendarCall] = []
        self.calendar_delay = 0.0
        self._failures: list[tuple[int, str, str | None]] = []
        base = "/calendar/v3"
        self.app.router.routes.extend(
            [
                Route(base + "/calendars/{calendar_id}/events", self._insert, methods=["POST"]),
                Route(
                    base + "/calendars/{calendar_id}/events/{event_id}",
                    self._event,
                    methods=["GET", "PATCH", "DELETE"],
                ),
                Route(base + "/freeBusy", self._freebusy, methods=["POST"]),
            ]
        )

    # -- test-side helpers -------------------------------------------------------------------

    @property
    def api_root(self) -> str:
        """The value for GOOGLE_API_BASE (stands in for https://www.googleapis.com/)."""
        return self.url + "/"

    def reset(self) -> None:
        super().reset()
        self.events = {}
        self.busy = {}
        self.calendar_calls = []
        self.calendar_delay = 0.0
        self._failures = []

    def fail_next(
        self, status: int, *, reason: str = "backendError", times: int = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next `times` Calendar requests (of `method`, if given) with an error."""
        self._failures.extend([(status, reason, method)] * times)

    def issue_token(
        self,
        *,
        email: str = "tutor.calendar@example.com",
        scope: str = f"openid email {CALENDAR_SCOPE}",
        expires_in: int | None = None,
    ) -> dict[str, Any]:
        """A grant as the consent flow would make it, without the browser round trip.

        Returns a token response (access_token, refresh_token, expires_at, scope); an
        `expires_in` <= 0 gives an access token that is already expired on both sides.
        """
        lifetime = self.token_lifetime if expires_in is None else expires_in
        user = {"sub": secrets.token_hex(8), "email": email, "email_verified": True}
        with self._lock:
            grant = _Grant(client_id=self.client_id, scope=scope, user=user)
            grant.refresh_token = "1//" + secrets.token_urlsafe(48)
            self._store.refresh_tokens[grant.refresh_token] = grant
            access_token = "ya29." + secrets.token_urlsafe(48)
            self._store.access_tokens[access_token] = _AccessToken(
                grant=grant, expires_at=time.time() + lifetime
            )
        return {
            "access_token": access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": int(time.time() + lifetime),
            "scope": scope,
            "token_type": "Bearer",
        }

    def revoke_grant(self, token: str) -> None:
        """Revoke a grant by one of its tokens, as the user would at myaccount.google.com."""
        with self._lock:
            grant = self._store.refresh_tokens.get(token)
            access = self._store.access_tokens.get(token)
            if grant is None and access is not None:
                grant = access.grant
            if grant is None:
                raise KeyError("unknown token")
            grant.revoked = True

    def calls(self, method: str | None = None) -> list[CalendarCall]:
        return [c for c in self.calendar_calls if method is None or c.method == method]

    def calendar_events(self, email: str) -> dict[str, dict[str, Any]]:
        return self.events.get(email, {})

    # -- Calendar endpoints ------------------------------------------------------------------

    async def _begin(self, request: Request) -> tuple[dict[str, Any] | None, str | Response]:
        """Record the request, apply switches and authenticate; (body, calendar email)."""
        raw = await request.body()
        body = json.loads(raw) if raw else None
        failure = self._take_failure(request.method)
        if failure is not None:
            status, reason = failure
            return body, _error(status, reason, f"injected {status}")
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        with self._lock:
            record = self._store.access_tokens.get(token) if token else None
            valid = (
                record is not None
                and not record.grant.revoked
                and time.time() < record.expires_at
            )
        if record is None or not valid:
            return body, _error(401, "authError", "Invalid Credentials")
        if CALENDAR_SCOPE not in record.grant.scope.split():
            return body, _error(403, "insufficientPermissions", "Insufficient Permission")
        email = str(record.grant.user.get("email", ""))
        calendar_id = request.path_params.get("calendar_id", "primary")
        if calendar_id not in ("primary", email):
            return body, _error(404, "notFound", "Not Found")
        return body, email

    def _take_failure(self, method: str) -> tuple[int, str] | None:
        with self._lock:
            for i, (status, reason, only) in enumerate(self._failures):
                if only is None or only == method:
                    del self._failures[i]
                    return status, reason
        return None

    def _finish(
        self, request: Request, body: dict[str, Any] | None, response: Response
    ) -> Response:
        self.calendar_calls.append(
            CalendarCall(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                body=body,
                status=response.status_code,
            )
        )
        return response

    async def _insert(self, request: Request) -> Response:
        body, who = await self._begin(request)
        if isinstance(who, Response):
            return self._finish(request, body, who)
        event = copy.deepcopy(body or {})
        problem = self._invalid(event)
        if problem:
            return self._finish(request, body, _error(400, "invalid", problem))
        if self.calendar_delay:
            await asyncio.sleep(self.calendar_delay)
        event_id = event.get("id") or secrets.token_hex(13)
        with self._lock:
            calendar = self.events.setdefault(who, {})
            if event_id in calendar:
                response = _error(409, "duplicate", "The requested identifier already exists.")
                return self._finish(request, body, response)
            now = _fmt(datetime.now(UTC))
            event.update(
                {
                    "kind": "calendar#event",
                    "id": event_id,
                    "status": event.get("status", "confirmed"),
                    "htmlLink": f"https://calendar.google.com/event?eid={event_id}",
                    "created": now,
                    "updated": now,
                    "sequence": 0,
                    "organizer": {"email": who, "self": True},
                }
            )
            calendar[event_id] = event
            result = copy.deepcopy(event)
        return self._finish(request, body, JSONResponse(result))

    async def _event(self, request: Request) -> Response:
        body, who = await self._begin(request)
        if isinstance(who, Response):
            return self._finish(request, body, who)
        event_id = request.path_params["event_id"]
        with self._lock:
            event = self.events.get(who, {}).get(event_id)
            if event is None:
                return self._finish(request, body, _error(404, "notFound", "Not Found"))
            if request.method == "GET":
                return self._finish(request, body, JSONResponse(copy.deepcopy(event)))
            if request.method == "DELETE":
                if event.get("status") == "cancelled":
                    response = _error(410, "deleted", "Resource has been deleted")
                    return self._finish(request, body, response)
                event["status"] = "cancelled"
                return self._finish(request, body, Response(status_code=204))
            changed = {**event, **copy.deepcopy(body or {})}
            problem = self._invalid(changed)
            if problem:
                return self._finish(request, body, _error(400, "invalid", problem))
            changed["id"] = event_id
            changed["sequence"] = int(event.get("sequence", 0)) + 1
            changed["updated"] = _fmt(datetime.now(UTC))
            self.events[who][event_id] = changed
            result = copy.deepcopy(changed)
        return self._finish(request, body, JSONResponse(result))

    async def _freebusy(self, request: Request) -> Response:
        body, who = await self._begin(request)
        if isinstance(who, Response):
            return self._finish(request, body, who)
        body = body or {}
        try:
            time_min, time_max = _parse(body["timeMin"]), _parse(body["timeMax"])
        except (KeyError, ValueError):
            return self._finish(request, body, _error(400, "badRequest", "Bad Request"))
        if time_max <= time_min:
            return self._finish(request, body, _error(400, "timeRangeEmpty", "Empty range"))
        calendars: dict[str, Any] = {}
        for item in body.get("items") or []:
            requested = item.get("id")
            if requested not in ("primary", who):
                calendars[requested] = {"errors": [{"domain": "global", "reason": "notFound"}]}
                continue
            spans = list(self.busy.get(who, []))
            for event in self.events.get(who, {}).values():
                if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
                    continue
                spans.append((_parse(event["start"]["dateTime"]), _parse(event["end"]["dateTime"])))
            busy = [
                {"start": _fmt(max(s, time_min)), "end": _fmt(min(e, time_max))}
                for s, e in sorted(spans)
                if s < time_max and e > time_min
            ]
            calendars[requested] = {"busy": busy}
        result = {
            "kind": "calendar#freeBusy",
            "timeMin": _fmt(time_min),
            "timeMax": _fmt(time_max),
            "calendars": calendars,
        }
        return self._finish(request, body, JSONResponse(result))

    @staticmethod
    def _invalid(event: dict[str, Any]) -> str | None:
        event_id = event.get("id")
        if event_id is not None and not _EVENT_ID.match(str(event_id)):
            return "Invalid resource id value."
        try:
            start = _parse(event["start"]["dateTime"])
            end = _parse(event["end"]["dateTime"])
        except (KeyError, TypeError, ValueError):
            return "Missing start or end time."
        if end <= start:
            return "The specified time range is empty."
        for attendee in event.get("attendees") or []:
            if "@" not in str(attendee.get("email", "")):
                return "Invalid attendee email."
        return None
