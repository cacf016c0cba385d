"""Google Calendar v3 through google-api-python-client: the only code that calls the API.

The client is built from the discovery document bundled with the library
(`static_discovery=True`), so nothing is fetched at run time but the calls themselves. It
authenticates with `google.oauth2.credentials.Credentials` made from our stored token, with the
token endpoint from the OAuth discovery document and the app's client id/secret, so google-auth
refreshes an expired access token by itself (and once more on a 401); the caller reads the
possibly refreshed token back with `token_from_credentials` and stores it.

Google's answers are translated into a few exception types that say what the caller should do
(`CalendarAuthError`: the tutor must reconnect; `CalendarTransientError`: try again later;
`CalendarNotFound`/`CalendarGone`/`CalendarConflict`: specific, expected outcomes), so no
googleapiclient type leaks into the services.

Tests inject the transport: `CalendarClient(credentials, http=HttpMockSequence([...]))`, or the
default httplib2 transport pointed at a local fake with `GOOGLE_API_BASE`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tutor_app.core.settings import get_settings

if TYPE_CHECKING:  # the stubs' request shapes; the library itself takes plain dicts
    from googleapiclient._apis.calendar.v3.schemas import Event, FreeBusyRequest

log = logging.getLogger(__name__)

PRIMARY = "primary"
DEFAULT_TIMEOUT = 15.0
# Tests only: the root URL of a local fake of googleapis.com (e.g. "http://127.0.0.1:5000/").
_SERVICE_PATH = "calendar/v3/"
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


class CalendarApiError(Exception):
    """A Calendar call failed; `status` is Google's HTTP status (None when none came back)."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class CalendarAuthError(CalendarApiError):
    """The grant is no longer usable (revoked, expired refresh token, scope removed)."""


class CalendarTransientError(CalendarApiError):
    """Google or the network failed in a way a later retry can fix (5xx, 429, timeouts)."""


class CalendarNotFound(CalendarApiError):
    """404: no such event (or calendar) for this account."""


class CalendarGone(CalendarApiError):
    """410: the event was deleted already."""


class CalendarConflict(CalendarApiError):
    """409: an event with this client-supplied id exists already (Google's "duplicate")."""


def api_base() -> str | None:
    """A local fake's root URL in tests (`GOOGLE_API_BASE`); None means Google's own endpoint.

    Settings refuse it with APP_ENV=prod: it would send tutors' bearer tokens to another host.
    """
    return get_settings().google_api_base


def credentials_from_token(
    token: Mapping[str, Any], *, token_uri: str, client_id: str, client_secret: str
) -> Credentials:
    """google-auth credentials that can refresh themselves at `token_uri`."""
    expires_at = token.get("expires_at")
    expiry = (
        datetime.fromtimestamp(int(expires_at), UTC).replace(tzinfo=None)  # google-auth: naive
        if expires_at is not None
        else None
    )
    return Credentials(  # type: ignore[no-untyped-call]
        token=token.get("access_token"),
        refresh_token=token.get("refresh_token"),
        token_uri=token_uri,
        client_id=client_id,
        client_secret=client_secret,
        expiry=expiry,
    )


def token_from_credentials(
    credentials: Credentials, previous: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The token to store when google-auth refreshed it during the call, else None."""
    if credentials.token == previous.get("access_token"):
        return None
    expiry = credentials.expiry
    return {
        **previous,
        "access_token": credentials.token,
        "refresh_token": credentials.refresh_token or previous.get("refresh_token"),
        "expires_at": int(expiry.replace(tzinfo=UTC).timestamp()) if expiry else None,
    }


def rfc3339(value: datetime) -> str:
    """UTC with a Z, the form Google documents for dateTime and timeMin/timeMax."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the Calendar API")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CalendarClient:
    """One tutor's calendar for the length of one operation (httplib2 is not thread-safe).

    `http` is the transport under the credentials (an `httplib2.Http`, or googleapiclient's
    `HttpMockSequence` in tests); `api_root` overrides https://www.googleapis.com/.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        http: httplib2.Http | None = None,
        api_root: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.credentials = credentials
        base_http = http if http is not None else httplib2.Http(timeout=timeout)
        self._http = AuthorizedHttp(credentials, http=base_http)
        root = api_root if api_root is not None else api_base()
        options = {"api_endpoint": root.rstrip("/") + "/" + _SERVICE_PATH} if root else None
        self._service = build(
            "calendar",
            "v3",
            http=self._http,
            static_discovery=True,
            cache_discovery=False,
            client_options=options,
        )

    def close(self) -> None:
        self._http.close()

    def insert_event(
        self, event: Mapping[str, Any], *, calendar_id: str = PRIMARY
    ) -> dict[str, Any]:
        """Create `event` (which may carry our own `id`); CalendarConflict if that id exists.

        `sendUpdates="none"`: the student gets the app's own email with an .ics, not a second
        invitation from Google.
        """
        request = self._service.events().insert(
            calendarId=calendar_id, body=cast("Event", dict(event)), sendUpdates="none"
        )
        return self._execute(request)

    def patch_event(
        self, event_id: str, changes: Mapping[str, Any], *, calendar_id: str = PRIMARY
    ) -> dict[str, Any]:
        """Change only the given fields of an existing event."""
        request = self._service.events().patch(
            calendarId=calendar_id, eventId=event_id, body=cast("Event", dict(changes)),
            sendUpdates="none",
        )
        return self._execute(request)

    def delete_event(self, event_id: str, *, calendar_id: str = PRIMARY) -> None:
        """Delete an event; CalendarNotFound / CalendarGone when it is not there any more."""
        request = self._service.events().delete(
            calendarId=calendar_id, eventId=event_id, sendUpdates="none"
        )
        self._execute(request)

    def freebusy(
        self, time_min: datetime, time_max: datetime, *, calendar_id: str = PRIMARY
    ) -> list[tuple[datetime, datetime]]:
        """The busy intervals (UTC, sorted) of the calendar between the two instants."""
        body: FreeBusyRequest = {
            "timeMin": rfc3339(time_min),
            "timeMax": rfc3339(time_max),
            "items": [{"id": calendar_id}],
        }
        result = self._execute(self._service.freebusy().query(body=body))
        calendars = result.get("calendars") or {}
        entry = calendars.get(calendar_id)
        if entry is None and len(calendars) == 1:
            entry = next(iter(calendars.values()))  # "primary" may come back as the address
        if entry is None:
            raise CalendarApiError("freebusy answer lacks the calendar")
        if entry.get("errors"):
            reason = str(entry["errors"][0].get("reason", ""))
            raise CalendarApiError(f"freebusy error: {reason}", reason=reason)
        busy = [
            (_parse_time(item["start"]), _parse_time(item["end"]))
            for item in entry.get("busy") or []
        ]
        return sorted(busy)

    def _execute(self, request: Any) -> dict[str, Any]:
        try:
            result = request.execute(num_retries=0)
        except HttpError as exc:
            raise _translate_http_error(exc) from exc
        except RefreshError as exc:
            if exc.retryable:
                raise CalendarTransientError("token refresh failed, retryable") from exc
            raise CalendarAuthError(f"token refresh refused: {_refresh_reason(exc)}") from exc
        except (TransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise CalendarTransientError(f"network error: {type(exc).__name__}") from exc
        return result if isinstance(result, dict) else {}


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _refresh_reason(exc: RefreshError) -> str:
    """The OAuth error code ("invalid_grant", ...) of a failed refresh, never the token."""
    for arg in exc.args[1:]:
        if isinstance(arg, Mapping) and arg.get("error"):
            return str(arg["error"])
    text = str(exc.args[0]) if exc.args else ""
    return text.split(":", 1)[0][:64] or "unknown"


def _error_reason(exc: HttpError) -> str:
    try:
        payload = json.loads(exc.content.decode("utf-8"))
        errors = payload.get("error", {}).get("errors") or []
        if errors and errors[0].get("reason"):
            return str(errors[0]["reason"])
        return str(payload.get("error", {}).get("status", ""))
    except (ValueError, AttributeError, UnicodeDecodeError):
        return ""


def _translate_http_error(exc: HttpError) -> CalendarApiError:
    status = int(exc.resp.status)
    reason = _error_reason(exc)
    message = f"Google Calendar answered {status}" + (f" ({reason})" if reason else "")
    if status == 401:
        return CalendarAuthError(message, status=status, reason=reason)
    if status == 403:
        if reason in _RATE_LIMIT_REASONS:
            return CalendarTransientError(message, status=status, reason=reason)
        return CalendarAuthError(message, status=status, reason=reason)
    if status == 404:
        return CalendarNotFound(message, status=status, reason=reason)
    if status == 409:
        return CalendarConflict(message, status=status, reason=reason)
    if status == 410:
        return CalendarGone(message, status=status, reason=reason)
    if status == 429 or status >= 500:
        return CalendarTransientError(message, status=status, reason=reason)
    return CalendarApiError(message, status=status, reason=reason)
