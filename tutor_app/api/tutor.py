"""GET /api/tutor/earnings.csv?from=YYYY-MM&to=YYYY-MM: a tutor's monthly earnings as a file.

The "Download CSV" link of `/tutor/earnings`, signed in by the session cookie. Only a user who
runs a tutor profile gets it (an admin names the tutor with `&tutor=ID`); anyone else, signed
out included, gets the same 404 as a route that does not exist, so it says nothing about who
is a tutor. Without `from`/`to` it covers the last twelve months; a month that cannot be read,
an inverted range or more than five years is a 400. The figures are `tutors.earnings`' (one
aggregate query), streamed a line at a time as an attachment, never cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tutor_app.api.deps import current_user
from tutor_app.api.errors import error_json
from tutor_app.core import db as app_db
from tutor_app.tutors import earnings
from tutor_app.tutors.access import tutor_for_user

NOT_FOUND = "not found"


def earnings_csv(request: Request) -> Response:
    """Sync on purpose: Starlette runs it in a worker thread, where database calls belong."""
    user = current_user(request)
    params = request.query_params
    with app_db.session() as db:
        tutor = tutor_for_user(db, user, tutor_id=params.get("tutor") or None)
        if tutor is None:
            return error_json(404, NOT_FOUND)
        try:
            first, last = earnings.read_range(params.get("from"), params.get("to"),
                                              tutor.timezone)
        except earnings.InvalidRange as exc:
            return error_json(400, str(exc))
        months = earnings.monthly_earnings(db, tutor=tutor, first=first, last=last)
        filename = earnings.csv_filename(tutor, first, last)
    return StreamingResponse(
        earnings.csv_rows(months),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


routes = [Route("/api/tutor/earnings.csv", earnings_csv, methods=["GET"])]
