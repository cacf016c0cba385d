"""GET /api/bookings/{booking_id}/calendar.ics: a lesson as a calendar file, for its student.

The dashboard's "Add to calendar" link. Only the signed-in owner of the booking gets it;
anyone else, signed out, or asking for an id that does not exist gets the same 404, so the
route does not even reveal which booking ids exist. The file is METHOD:PUBLISH (a plain
event to import) with the same UID and SEQUENCE as the emailed invitations, so importing it
next to an emailed one updates rather than duplicates the event.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tutor_app.api.deps import current_user
from tutor_app.catalog.tutor_catalog import get_tutor
from tutor_app.core import db
from tutor_app.core.models import Booking
from tutor_app.mail.ics import lesson_calendar
from tutor_app.mail.notifications import FALLBACK_TUTOR_NAME


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404, headers={"Cache-Control": "no-store"})


def booking_calendar(request: Request) -> Response:
    """Sync on purpose: Starlette runs it in a worker thread, where database calls belong."""
    booking_id = request.path_params["booking_id"]
    user = current_user(request)
    if user is None or len(booking_id) > 32:
        return _not_found()
    with db.session() as session:
        booking = session.get(Booking, booking_id)
        if booking is None or booking.user_id != user.id:
            return _not_found()
        tutor = get_tutor(session, booking.tutor_id, include_inactive=True)
        content = lesson_calendar(
            booking,
            tutor.name if tutor else FALLBACK_TUTOR_NAME,
            user.email,
            method="PUBLISH",
            student_name=user.name,
        )
    return Response(
        content,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="lesson-{booking.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


routes = [Route("/api/bookings/{booking_id}/calendar.ics", booking_calendar, methods=["GET"])]
