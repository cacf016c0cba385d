"""GET /media/{name}: a stored photo (`tutors.media`), cached by browsers for a year.

A stored file is named after the hash of its content, so its bytes never change under its
name: the answer is `public, max-age=31536000, immutable` and browsers never ask again. Any
name that is not a stored file (a made-up hash, a path, another extension) is a plain 404,
never cached, so a photo stored a moment later is found at once.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from tutor_app.api.caching import IMMUTABLE
from tutor_app.tutors import media


def media_file(request: Request) -> Response:
    """Sync on purpose: Starlette runs it in a worker thread, where file system calls belong."""
    path = media.stored_path(request.path_params["name"])
    if path is None:
        return PlainTextResponse("not found", status_code=404,
                                 headers={"Cache-Control": "no-store"})
    return FileResponse(path, media_type=media.STORED_MEDIA_TYPE,
                        headers={"Cache-Control": IMMUTABLE.decode()})


routes = [Route(media.MEDIA_PREFIX + "{name}", media_file, methods=["GET", "HEAD"])]
