"""GET /api/bookings/{booking_id}/calendar.ics: a lesson as a calendar file, for its student.

The dashboard's "Add to calendar" link. Only the signed-in owner of the booking gets it;
anyone else, signed out, or asking for an id that does not exist gets the same 404, so the
route does not even reveal which booking ids exist. The file is METHOD:PUBLISH (a plain
event to import) with the same UID and SEQUENCE as the emailed invitations, so importing it
next to an emailed one updates rather than duplicates the event.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tutor_app.api.deps import current_user
from tutor_app.api.errors import MAPPED_ERRORS, error_response
from tutor_app.booking.access import NotFound, owned_booking
from tutor_app.catalog.tutor_catalog import get_tutor
from tutor_app.core import db as app_db
from tutor_app.mail.ics import lesson_calendar
from tutor_app.mail.notifications import FALLBACK_TUTOR_NAME


def booking_calendar(request: Request) -> Response:
    """Sync on purpose: Starlette runs it in a worker thread, where database calls belong."""
    booking_id = request.path_params["booking_id"]
    user = current_user(request)
    try:
        if user is None:
            raise NotFound(booking_id)  # signed out looks like any booking that is not yours
        with app_db.session() as db:
            booking = owned_booking(db, booking_id=booking_id, user_id=user.id)
            tutor = get_tutor(db, booking.tutor_id, include_inactive=True)
            content = lesson_calendar(
                booking,
                tutor.name if tutor else FALLBACK_TUTOR_NAME,
                user.email,
                method="PUBLISH",
                student_name=user.name,
            )
    except MAPPED_ERRORS as exc:
        return error_response(exc, context=f"calendar file of booking {booking_id}")
    return Response(
        content,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="lesson-{booking.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


routes = [Route("/api/bookings/{booking_id}/calendar.ics", booking_calendar, methods=["GET"])]
