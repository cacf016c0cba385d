"""GET /api/admin/bookings.csv?<the table's filters>: the admin's filtered bookings as a file.

The "Export CSV" link of `/admin/bookings`, signed in by the session cookie. Only an admin gets
it; anyone else, signed out included, gets the same 404 as a route that does not exist. The
filters are the page's own (`admin.bookings.read_filter`); the rows are streamed from the
database in chunks as they are written out, never all in memory, and never cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tutor_app.admin import access, bookings
from tutor_app.api.deps import current_user
from tutor_app.api.errors import error_json

NOT_FOUND = "not found"


def bookings_csv(request: Request) -> Response:
    """Sync on purpose: Starlette runs it, and iterates the stream, in worker threads."""
    if not access.is_admin(current_user(request)):
        return error_json(404, NOT_FOUND)
    wanted = bookings.read_filter(dict(request.query_params))
    return StreamingResponse(
        bookings.csv_lines(wanted),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{bookings.csv_filename(wanted)}"',
            "Cache-Control": "private, no-store",
        },
    )


routes = [Route("/api/admin/bookings.csv", bookings_csv, methods=["GET"])]
