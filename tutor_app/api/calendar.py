"""/api/calendar: a tutor connects and disconnects their Google Calendar.

- `GET /api/calendar/connect`: a signed-in tutor goes to Google's consent (302); a signed-out
  visitor to sign-in and back to /tutor (303); anyone else gets 403.
- `GET /api/calendar/callback`: Google sends the tutor back here; the grant is stored
  (encrypted) and the tutor lands on `/tutor?calendar=connected`, or `?calendar=error` (the
  consent was refused, or anything failed: the reason goes to the log, not the URL).
- `POST /api/calendar/disconnect`: revoke at Google, delete, 303 to /tutor (a native form POST).

Full-page redirects throughout, so the portal page reloads with the new state. The routes
are plain functions: Starlette runs them in its thread pool, so the database and the calls to
Google never block the event loop that carries Reflex's websockets.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tutor_app.api.deps import current_user
from tutor_app.api.same_site import same_site_only
from tutor_app.core import routes as pages
from tutor_app.core.models import User
from tutor_app.integrations.oauth import OAuthFlowError
from tutor_app.tutor_calendar import connections
from tutor_app.tutor_calendar.connections import NotATutor

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
CONNECTED = f"{pages.TUTOR_PORTAL}?calendar=connected"
FAILED = f"{pages.TUTOR_PORTAL}?calendar=error"


def _redirect(url: str, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code, headers=NO_STORE)


def _tutor_or_response(request: Request) -> User | Response:
    """The signed-in tutor, or the answer for everyone else (sign-in, or 403)."""
    user = current_user(request)
    if user is None:
        return _redirect(f"{pages.LOGIN}?next={quote(pages.TUTOR_PORTAL, safe='')}")
    if not connections.is_calendar_tutor(user):
        return PlainTextResponse("Only tutors can connect a calendar.", 403, headers=NO_STORE)
    return user


def connect(request: Request) -> Response:
    who = _tutor_or_response(request)
    if isinstance(who, Response):
        return who
    try:
        url = connections.start_connect(user=who)
    except (OAuthFlowError, NotATutor) as exc:
        log.warning("calendar connect for user %s could not start: %s", who.id, exc)
        return _redirect(FAILED)
    except Exception:
        log.exception("calendar connect for user %s could not start", who.id)
        return _redirect(FAILED)
    return _redirect(url, status_code=302)


def callback(request: Request) -> Response:
    who = _tutor_or_response(request)
    if isinstance(who, Response):
        return who
    params = request.query_params
    if params.get("error"):
        # The tutor said no (or Google failed): still use up the state, then say so.
        log.info("calendar consent for user %s ended: %s", who.id, params["error"][:64])
        connections.abandon_connect(user=who, state=params.get("state", ""))
        return _redirect(FAILED)
    try:
        connection = connections.complete_connect(
            user=who, state=params.get("state", ""), code=params.get("code", "")
        )
    except (OAuthFlowError, NotATutor) as exc:
        log.warning("calendar callback for user %s refused: %s", who.id, exc)
        return _redirect(FAILED)
    except Exception:
        log.exception("calendar callback for user %s failed", who.id)
        return _redirect(FAILED)
    log.info("calendar connection %s stored for user %s", connection.id, who.id)
    return _redirect(CONNECTED)


@same_site_only
def disconnect(request: Request) -> Response:
    who = _tutor_or_response(request)
    if isinstance(who, Response):
        return who
    connections.disconnect(user_id=who.id)
    return _redirect(pages.TUTOR_PORTAL)


routes = [
    Route("/api/calendar/connect", connect, methods=["GET"]),
    Route("/api/calendar/callback", callback, methods=["GET"]),
    Route("/api/calendar/disconnect", disconnect, methods=["POST"]),
]
