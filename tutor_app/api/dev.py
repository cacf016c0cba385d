"""/api/dev: routes that exist on a developer's own machine only (`Settings.local_dev`).

- `GET /api/dev/pre-sign-in`: gives the browser its pre-sign-in cookie (a new value, or its
  own renewed), as every page load does in prod. In `make dev` the pages come from the
  frontend dev server, not from the backend, so `api.pre_sign_in_cookie` never sees them: the
  dev server asks this route on each page load and passes its `Set-Cookie` on
  (`tutor_app/dev_server.js`).
- `GET /api/dev/outbox/{mail_id}.eml`: a mail of the outbox, whole, for a mail client.
- `GET /api/dev/outbox/{mail_id}/attachments/{index}`: one of its attachments, as a download.

Anywhere else (APP_ENV=prod, or an APP_URL others can reach) every one of them is a plain 404,
the same as a path that does not exist; so are the outbox routes to a client on another
machine (`mail_outbox.open_to`). The outbox routes are sync on purpose: Starlette runs them
in a worker thread, where file reads belong.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tutor_app.accounts import pre_sign_in
from tutor_app.core import routes as pages
from tutor_app.core.settings import get_settings
from tutor_app.integrations import mail_outbox

NO_STORE = {"Cache-Control": "no-store"}
PRE_SIGN_IN_PATH = pages.DEV_PRE_SIGN_IN
OUTBOX_PREFIX = "/api/dev/outbox/"


def raw_mail_url(mail_id: str) -> str:
    return f"{OUTBOX_PREFIX}{mail_id}.eml"


def attachment_url(mail_id: str, index: int) -> str:
    return f"{OUTBOX_PREFIX}{mail_id}/attachments/{index}"


def _not_found() -> Response:
    return PlainTextResponse("not found", status_code=404, headers=NO_STORE)


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type, headers={
        **NO_STORE,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
    })


def dev_pre_sign_in(request: Request) -> Response:
    """Set (or renew) the pre-sign-in cookie; no body."""
    if not get_settings().local_dev:
        return _not_found()
    value = pre_sign_in.from_cookie_header(request.headers.get("cookie")) \
        or pre_sign_in.new_value()
    response = Response(status_code=204, headers=NO_STORE)
    response.set_cookie(**pre_sign_in.pre_sign_in_cookie(value))
    return response


def _outbox_open(request: Request) -> bool:
    return mail_outbox.open_to(request.client.host if request.client else None)


def outbox_raw(request: Request) -> Response:
    """The mail's `.eml` file."""
    if not _outbox_open(request):
        return _not_found()
    mail_id = request.path_params["mail_id"]
    content = mail_outbox.raw_mail(get_settings().outbox_dir, mail_id)
    if content is None:
        return _not_found()
    return _download(content, "message/rfc822", f"{mail_id}{mail_outbox.SUFFIX}")


def outbox_attachment(request: Request) -> Response:
    """One attachment of the mail, by its place among the mail's attachments."""
    if not _outbox_open(request):
        return _not_found()
    mail = mail_outbox.read_mail(get_settings().outbox_dir, request.path_params["mail_id"])
    index = request.path_params["index"]
    if mail is None or not 0 <= index < len(mail.attachments):
        return _not_found()
    attachment = mail.attachments[index]
    return _download(attachment.content, attachment.content_type, attachment.filename)


routes = [
    Route(PRE_SIGN_IN_PATH, dev_pre_sign_in, methods=["GET"]),
    Route(OUTBOX_PREFIX + "{mail_id}.eml", outbox_raw, methods=["GET"]),
    Route(OUTBOX_PREFIX + "{mail_id}/attachments/{index:int}", outbox_attachment,
          methods=["GET"]),
]
