"""/api/auth: the routes that set and clear the sign-in session cookie.

- `GET /api/auth/login/{provider}` and `GET /api/auth/callback/{provider}`: OpenID sign-in.
- `GET /api/auth/session?ticket=&next=`: swaps a form sign-in's handoff ticket for the cookie.
- `POST /api/auth/logout`: revokes the session and clears the cookie (a native form POST).
- `POST /api/auth/signup`, `POST /api/auth/login`: the same for non-browser clients (JSON or
  form body), answering JSON; `GET /api/auth/me`: who the cookie signs in, or 401. A sign-up
  for an unclaimed user's email answers 202 with no cookie: it waits on a mailed link.

Both ways of signing in from a page finish only in the browser that started them: the ticket
and the OpenID state carry the hash of that browser's pre-sign-in cookie (login CSRF,
`accounts.pre_sign_in`); the login route sets that cookie when the browser has none yet.

Blocking work (database, Argon2, calls to the provider) runs in Starlette's thread pool: the
GET routes are plain functions, the POST routes hand their service call to a thread, so the
event loop that also carries Reflex's websockets never waits on it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tutor_app.accounts import (
    account_settings,
    email_verification,
    pre_sign_in,
    sign_in_sessions,
    users,
)
from tutor_app.accounts.users import AuthError
from tutor_app.api.deps import client_ip, current_user, session_token
from tutor_app.api.errors import MAPPED_ERRORS, error_response
from tutor_app.api.same_site import same_site_only
from tutor_app.core import db as app_db
from tutor_app.core import rate_limits
from tutor_app.core import routes as pages
from tutor_app.core.models import User
from tutor_app.core.timefmt import zone_from_cookie_header
from tutor_app.integrations import oidc
from tutor_app.integrations.oauth import OAuthFlowError

log = logging.getLogger(__name__)

OIDC_FAILED = users.GOOGLE_FAILED
OIDC_CANCELLED = users.GOOGLE_CANCELLED
TICKET_EXPIRED = users.TICKET_EXPIRED
NO_STORE = {"Cache-Control": "no-store"}


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers=NO_STORE)


def _redirect(url: str, *, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code, headers=NO_STORE)


def _signed_in_redirect(token: str, next_path: str) -> RedirectResponse:
    response = _redirect(sign_in_sessions.safe_next(next_path))
    response.set_cookie(**sign_in_sessions.session_cookie(token))
    return response


def _pre_sign_in_value(request: Request) -> str | None:
    """The request's pre-sign-in cookie value (None without one)."""
    return pre_sign_in.from_cookie_header(request.headers.get("cookie"))
def _user_agent(request: Request) -> str | None:
    """The browser's User-Agent, recorded on the sign-in session it starts."""
    return request.headers.get("user-agent")


def _login_error(message: str, next_path: str = "/") -> RedirectResponse:
    url = f"{pages.LOGIN}?error={quote(message, safe='')}"
    if next_path != "/":
        url += f"&next={quote(next_path, safe='')}"
    return _redirect(url)


# -- OpenID Connect --------------------------------------------------------------------------


def oidc_login(request: Request) -> Response:
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge, the
    state bound to this browser's pre-sign-in cookie (set here when it has none yet)."""
    provider = request.path_params["provider"]
    if not oidc.is_enabled(provider):
        return _not_found()
    next_path = sign_in_sessions.safe_next(request.query_params.get("next"))
    browser = _pre_sign_in_value(request)
    fresh = browser is None
    browser = browser or pre_sign_in.new_value()
    try:
        with app_db.session() as db:
            url = oidc.start_login(db, provider=provider, next_url=next_path,
                                   browser_hash=pre_sign_in.browser_hash(browser))
            db.commit()
    except OAuthFlowError as exc:
        log.warning("%s sign-in could not start: %s", provider, exc)
        return _login_error(OIDC_FAILED, next_path)
    response = _redirect(url, status_code=302)
    if fresh:
        response.set_cookie(**pre_sign_in.pre_sign_in_cookie(browser))
    return response


def oidc_callback(request: Request) -> Response:
    """Finish an OpenID sign-in: on success the cookie and a 303 to `next`, else /login?error=.

    The state is consumed first, whatever happens next, so a callback URL works once; it is
    refused when this request lacks the pre-sign-in cookie of the browser that started it.
    The reason of a failure goes to the log; the visitor sees a short message only. The
    browser's `tz` cookie becomes the account's time zone when it has none yet.
    """
    provider = request.path_params["provider"]
    if not oidc.is_enabled(provider):
        return _not_found()
    params = request.query_params
    browser = _pre_sign_in_value(request)
    with app_db.session() as db:
        try:
            stored = oidc.take_state(
                db, provider=provider, state=params.get("state", ""),
                browser_hash=pre_sign_in.browser_hash(browser) if browser else None,
            )
        except OAuthFlowError as exc:
            db.commit()
            log.warning("%s callback refused: %s", provider, exc)
            return _login_error(OIDC_FAILED)
        db.commit()
    next_path = sign_in_sessions.safe_next(stored.next_url)
    if params.get("error"):
        log.info("%s sign-in ended by the provider: %s", provider, params["error"][:64])
        cancelled = params["error"] == "access_denied"
        return _login_error(OIDC_CANCELLED if cancelled else OIDC_FAILED, next_path)
    try:
        identity = oidc.finish_login(provider=provider, code=params.get("code", ""),
                                     stored=stored)
    except OAuthFlowError as exc:
        log.warning("%s callback refused: %s", provider, exc)
        return _login_error(OIDC_FAILED, next_path)
    try:
        with app_db.session() as db:
            user = users.sign_in_with_oidc(
                db, provider=provider, subject=identity.subject, email=identity.email,
                email_verified=identity.email_verified, name=identity.name,
            )
            account_settings.remember_zone(
                db, user_id=user.id, zone=zone_from_cookie_header(request.headers.get("cookie"))
            )
            token = sign_in_sessions.create_session(
                db, user_id=user.id, user_agent=_user_agent(request)
            )
            db.commit()
    except AuthError as exc:
        log.info("%s sign-in refused for the account: %s", provider, exc.message)
        return _login_error(exc.message, next_path)
    except IntegrityError:
        log.warning("%s sign-in raced with another sign-in of the same identity", provider)
        return _login_error(OIDC_FAILED, next_path)
    log.info("user %s signed in with %s", user.id, provider)
    return _signed_in_redirect(token, next_path)


# -- form sign-in handoff and sign-out -------------------------------------------------------


def session_handoff(request: Request) -> Response:
    """Swap a handoff ticket (from the sign-in or sign-up form) for the session cookie, in the
    browser whose form made it only (its pre-sign-in cookie)."""
    next_path = sign_in_sessions.safe_next(request.query_params.get("next"))
    with app_db.session() as db:
        ticket = request.query_params.get("ticket", "")
        redeemed = sign_in_sessions.redeem_handoff(
            db, ticket=ticket, browser=_pre_sign_in_value(request),
            user_agent=_user_agent(request),
        )
        db.commit()
    if redeemed is None:
        return _login_error(TICKET_EXPIRED, next_path)
    token, user = redeemed
    log.info("user %s signed in", user.id)
    return _signed_in_redirect(token, next_path)


@same_site_only
def logout(request: Request) -> Response:
    """Revoke this browser's sign-in session, clear its cookie and go home."""
    with app_db.session() as db:
        sign_in_sessions.revoke_session(db, token=session_token(request))
        db.commit()
    response = _redirect(pages.DIRECTORY)
    response.delete_cookie(**sign_in_sessions.cleared_session_cookie())
    return response


# -- JSON API for non-browser clients --------------------------------------------------------


def _user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name}


def _errors(errors: dict[str, str], status_code: int = 400) -> JSONResponse:
    return JSONResponse({"errors": errors}, status_code, headers=NO_STORE)


async def _fields(request: Request) -> dict[str, str] | None:
    """The body's string fields, JSON or form-encoded; None when it cannot be read."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.form())
    except (ValueError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    except Exception:  # multipart parser errors have no common public base
        return None
    if not isinstance(body, dict):
        return None
    return {key: value for key, value in body.items() if isinstance(value, str)}


async def _sign_in_with(
    request: Request, service: Callable[[dict[str, str]], User], *, what: str
) -> Response:
    fields = await _fields(request)
    if fields is None:
        return _errors({"form": "Send a JSON object or a form"})

    def work() -> tuple[User, str]:
        user = service(fields)
        with app_db.session() as db:
            token = sign_in_sessions.create_session(
                db, user_id=user.id, user_agent=_user_agent(request)
            )
            db.commit()
        return user, token

    try:
        user, token = await run_in_threadpool(work)
    except MAPPED_ERRORS as exc:
        return error_response(exc, context=f"API sign-in ({what})")
    log.info("user %s %s through the API", user.id, what)
    response = JSONResponse({"user": _user_json(user)}, headers=NO_STORE)
    response.set_cookie(**sign_in_sessions.session_cookie(token))
    return response


def _sign_up(fields: dict[str, str], *, ip: str) -> User:
    with app_db.session() as db:
        rate_limits.limit_sign_up(db, email=fields.get("email", ""), ip=ip)
    return email_verification.sign_up_with_password(
        email=fields.get("email", ""), password=fields.get("password", ""),
        name=fields.get("name", ""),
    )


def _authenticate(fields: dict[str, str], *, ip: str) -> User:
    with app_db.session() as db:
        user = users.authenticate(
            db, email=fields.get("email", ""), password=fields.get("password", ""), ip=ip
        )
        db.commit()
        return user


def me(request: Request) -> Response:
    """The signed-in user as JSON, or 401: how a non-browser client checks its cookie."""
    user = current_user(request)
    if user is None:
        return _errors({"session": "Not signed in"}, 401)
    return JSONResponse({"user": _user_json(user)}, headers=NO_STORE)


@same_site_only
async def api_signup(request: Request) -> Response:
    """Create an account, mail its verification link and sign it in: 200 JSON + cookie. For
    the email of an unclaimed user: 202 and a message, no cookie (a link was mailed there).
    429 with Retry-After when the address or the email tried too often."""
    service = functools.partial(_sign_up, ip=client_ip(request))
    return await _sign_in_with(request, service, what="signed up")


@same_site_only
async def api_login(request: Request) -> Response:
    """Sign in with email and password: 200 JSON + cookie, 400 on bad input, 429 throttled or
    rate limited (with Retry-After), 503 when too busy hashing passwords."""
    service = functools.partial(_authenticate, ip=client_ip(request))
    return await _sign_in_with(request, service, what="signed in")


routes = [
    Route("/api/auth/login/{provider}", oidc_login, methods=["GET"]),
    Route("/api/auth/callback/{provider}", oidc_callback, methods=["GET"]),
    Route("/api/auth/session", session_handoff, methods=["GET"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/auth/signup", api_signup, methods=["POST"]),
    Route("/api/auth/login", api_login, methods=["POST"]),
    Route("/api/auth/me", me, methods=["GET"]),
]
