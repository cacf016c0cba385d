"""Who is signed in, and the sign-in and sign-up forms.

`AuthState` reads the HttpOnly session cookie on the backend (`router.headers.cookie`, from
the websocket handshake; Reflex 0.10.1 never sends it to the browser) and keeps only the
user's id, email, name and role (and, on a developer's own machine, the link to their unpaid
test checkout, for the dev bar under every page). The cookie counts only when the handshake
came from the app's own pages: a websocket opened by another site (its `Origin`) is signed
out, whatever cookie the browser attached. Feature states subclass it; their handlers call
`await self._current_user_off_loop()` (the lookup reads the database, so it runs in a worker
thread: Reflex runs handlers on the event loop that serves every connection).

The forms cannot set an HttpOnly cookie over the websocket, so a successful submit creates a
60-second handoff ticket and sends the browser on a full-page navigation to
`/api/auth/session?ticket=...`, which sets the cookie and redirects to `next`; the page load
also makes the websocket reconnect carrying the new cookie. The ticket is bound to this
browser's pre-sign-in cookie, read from the same handshake (`accounts.pre_sign_in`): without
one the form asks to reload the page, which sets it.

A sign-up with the email of an unclaimed user signs nobody in: the form shows the notice that
a link was mailed (`email_verification.ConfirmationPending`).

The password is read from the submitted form data and never stored in state: state may live in
Redis, and state vars travel back to the browser in every delta.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import reflex as rx
from reflex.event import EventSpec

from tutor_app.accounts import (
    account_settings,
    email_verification,
    password_reset,
    pre_sign_in,
    sign_in_sessions,
    users,
)
from tutor_app.accounts.email_verification import ConfirmationPending
from tutor_app.accounts.passwords import HashingBusy
from tutor_app.accounts.users import AuthError
from tutor_app.booking import resume
from tutor_app.core import db as app_db
from tutor_app.core import rate_limits, routes, timefmt
from tutor_app.core.ids import DEV_CHECKOUT_SESSION_PREFIX
from tutor_app.core.models import Role, User
from tutor_app.core.settings import get_settings, url_origin

GENERIC_SIGN_IN_ERROR = users.SIGN_IN_FAILED
# The websocket's handshake carried no pre-sign-in cookie: cookies are off, or the page was
# loaded in a way that did not set it; a reload does.
RELOAD_TO_SIGN_IN = "Please reload the page and try again (signing in needs cookies)."
# Shown on /login?notice=...: only these, so a crafted link cannot put its own text there.
LOGIN_PAGE_NOTICES = frozenset({password_reset.PASSWORD_CHANGED})


def login_url(next_path: str) -> str:
    """The sign-in page that returns the visitor to `next_path` afterwards."""
    return f"{routes.LOGIN}?next={quote(sign_in_sessions.safe_next(next_path), safe='')}"


def login_notice_url(message: str) -> str:
    """The sign-in page showing `message` above its form (one of LOGIN_PAGE_NOTICES)."""
    return f"{routes.LOGIN}?notice={quote(message, safe='')}"


def _full_page_navigation(url: str) -> EventSpec:
    """Load `url` as a new page (not React Router's client-side navigation).

    `rx.redirect` navigates client-side for same-site paths, which would never reach the API
    route nor reconnect the websocket with the new cookie.
    """
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


class AuthState(rx.State):
    """The signed-in user, as far as the pages need to know ("" everywhere when signed out)."""

    user_id: str = ""
    user_email: str = ""
    user_name: str = ""
    user_role: str = ""
    user_email_verified: bool = False
    # Test checkout only (`Settings.dev_payments`): the signed-in user's unpaid session.
    dev_checkout_url: str = ""

    @rx.var
    def signed_in(self) -> bool:
        return self.user_id != ""

    @rx.var
    def is_tutor(self) -> bool:
        return self.user_role == Role.TUTOR.value

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == Role.ADMIN.value

    def _session_cookie_header(self) -> str:
        """The handshake's Cookie header, or "" when its `Origin` is another site.

        Socket.IO already refuses foreign origins (`cors_allowed_origins` in rxconfig); this
        holds even if that setting is loosened. No Origin at all is not a browser, which
        always sends one on a websocket handshake, so it cannot carry a visitor's cookie.
        """
        origin = self.router.headers.origin
        if not origin:
            return self.router.headers.cookie
        seen = url_origin(origin)
        return self.router.headers.cookie if seen and seen == get_settings().app_origin else ""

    def _client_ip(self) -> str:
        """The client's address as the server saw the websocket's, as a rate-limit key.

        Behind a reverse proxy this is the proxy's address unless Reflex is told to trust its
        forwarded header (`trusted_proxy_hops` in rxconfig); see `core.rate_limits`.
        """
        return rate_limits.address_key(self.router.session.client_ip)

    def _current_user(self) -> User | None:
        """The user of this connection's sign-in cookie, looked up afresh (None if signed out).

        Fresh on every call, so a revoked sign-in session or a changed role takes effect at once.
        """
        return sign_in_sessions.user_for_cookie_header(self._session_cookie_header())

    async def _current_user_off_loop(self) -> User | None:
        """`_current_user`, looked up in a worker thread: what handlers call, so the event
        loop, which serves every other connection, never waits on the database."""
        return await asyncio.to_thread(
            sign_in_sessions.user_for_cookie_header, self._session_cookie_header()
        )

    def _show_user(self, user: User | None) -> None:
        self.user_id = user.id if user else ""
        self.user_email = user.email if user else ""
        self.user_name = user.name if user else ""
        self.user_role = user.role if user else ""
        self.user_email_verified = user.email_verified if user else False

    def _current_path(self) -> str:
        url = self.router.url
        return url.path + (f"?{url.query}" if url.query else "") or "/"

    async def _show_dev_checkout(self, user: User | None) -> None:
        """With the test checkout on (local dev only), the link to the user's unpaid session
        for the dev bar (`components.layout.dev_bar`); otherwise nothing is looked up."""
        url = ""
        if user is not None and get_settings().dev_payments:
            url = await asyncio.to_thread(_open_dev_checkout, user.id)
        if url != self.dev_checkout_url:  # every assignment resends the var
            self.dev_checkout_url = url

    @rx.event
    async def load_user(self) -> None:
        """Fill the user vars from the sign-in session cookie (every page's on_load)."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        await self._show_dev_checkout(user)

    @rx.event
    async def require_login(self) -> EventSpec | None:
        """load_user, then send a signed-out visitor to sign in and back to this page."""
        user = await self._current_user_off_loop()
        self._show_user(user)
        await self._show_dev_checkout(user)
        if not self.user_id:
            return rx.redirect(login_url(self._current_path()))
        return None


class AuthFormState(AuthState):
    """What the sign-in and sign-up forms share: `next`, field errors, the handoff."""

    email: str = ""
    email_error: str = ""
    password_error: str = ""
    form_error: str = ""
    notice: str = ""  # what happened instead of signing in (a link was mailed)
    submitting: bool = False

    @rx.var
    def next_path(self) -> str:
        """Where to go after signing in: the page's `?next=`, when it is a path on this site."""
        return sign_in_sessions.safe_next(self.router.url.query_parameters.get("next"))

    @rx.var
    def google_login_enabled(self) -> bool:
        return get_settings().google_login_enabled

    @rx.var
    def google_login_url(self) -> str:
        return f"/api/auth/login/google?next={quote(self.next_path, safe='')}"

    def _clear_errors(self) -> None:
        self.email_error = ""
        self.password_error = ""
        self.form_error = ""
        self.notice = ""

    def _show_error(self, error: AuthError) -> None:
        for field, message in error.errors.items():
            self._show_field_error(field, message)

    def _show_field_error(self, field: str, message: str) -> None:
        if field == "email":
            self.email_error = message
        elif field == "password":
            self.password_error = message
        else:
            self.form_error = message

    async def _enter_form(self) -> EventSpec | None:
        """on_load of both forms: a signed-in visitor goes straight on to `next`."""
        self._clear_errors()
        self.submitting = False
        self._show_user(await self._current_user_off_loop())
        if self.user_id:
            return rx.redirect(self.next_path, replace=True)
        return None

    async def _sign_in(self, find_user: Callable[[], User]) -> EventSpec | None:
        """The end of both forms' submit: the user `find_user` returns (off the event loop)
        is handed off to the cookie route; its `AuthError` is shown on the form instead, as is
        a rate limit or a full hashing queue, and a `ConfirmationPending` as the form's notice
        (nobody is signed in).

        Checked first: the browser's pre-sign-in cookie, which the ticket is bound to. Without
        it nothing is done (no account made, no password tried) and the form asks to reload.
        """
        browser = pre_sign_in.from_cookie_header(self._session_cookie_header())
        if browser is None:
            self.form_error = RELOAD_TO_SIGN_IN
            return None
        try:
            user = await asyncio.to_thread(find_user)
        except AuthError as error:
            self._show_error(error)
            return None
        except (rate_limits.RateLimited, HashingBusy) as error:
            self.form_error = str(error)
            return None
        except ConfirmationPending as pending:
            self.notice = pending.message
            return None
        ticket = await asyncio.to_thread(_handoff, user.id, browser)
        self.submitting = True
        return _full_page_navigation(sign_in_sessions.handoff_url(ticket, self.next_path))


def _field(form_data: dict[str, Any], name: str) -> str:
    value = form_data.get(name, "")
    return value if isinstance(value, str) else ""


def _open_dev_checkout(user_id: str) -> str:
    """The URL of the user's open test-checkout session, or ""."""
    with app_db.session() as db:
        found = resume.open_checkout(db, user_id=user_id)
    if found is None or not found.session_id.startswith(DEV_CHECKOUT_SESSION_PREFIX):
        return ""
    return found.url


def _authenticate(email: str, password: str, ip: str) -> User:
    with app_db.session() as db:
        user = users.authenticate(db, email=email, password=password, ip=ip)
        db.commit()
        return user


def _handoff(user_id: str, browser: str) -> str:
    with app_db.session() as db:
        ticket = sign_in_sessions.create_handoff(db, user_id=user_id, browser=browser)
        db.commit()
    return ticket


def _sign_up(email: str, password: str, name: str, ip: str, zone: str | None = None) -> User:
    """Sign up (mailing the verification link), and keep the browser's zone (its `tz`
    cookie) as the new account's."""
    with app_db.session() as db:
        rate_limits.limit_sign_up(db, email=email, ip=ip)
    user = email_verification.sign_up_with_password(email=email, password=password, name=name)
    with app_db.session() as db:
        account_settings.remember_zone(db, user_id=user.id, zone=zone)
        db.commit()
    return user


class LoginState(AuthFormState):
    """The sign-in form at /login."""

    @rx.var
    def query_error(self) -> str:
        """The message of `/login?error=...` (sent by the OpenID callback), if it is one of ours."""
        message = self.router.url.query_parameters.get("error", "")
        if not message:
            return ""
        # Only messages the app itself sends there: a crafted link cannot put its own text here.
        return message if message in users.LOGIN_PAGE_ERRORS else GENERIC_SIGN_IN_ERROR

    @rx.var
    def query_notice(self) -> str:
        """The message of `/login?notice=...` (after a password reset), if it is one of ours."""
        message = self.router.url.query_parameters.get("notice", "")
        return message if message in LOGIN_PAGE_NOTICES else ""

    @rx.var
    def signup_link(self) -> str:
        return f"{routes.SIGNUP}?next={quote(self.next_path, safe='')}"

    @rx.event
    async def on_load(self) -> EventSpec | None:
        return await self._enter_form()

    @rx.event
    async def submit(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Check the credentials (Argon2, off the event loop), then hand off to the cookie route."""
        self._clear_errors()
        self.email = _field(form_data, "email").strip()
        password = _field(form_data, "password")
        return await self._sign_in(
            functools.partial(_authenticate, self.email, password, self._client_ip())
        )


class SignupState(AuthFormState):
    """The sign-up form at /signup."""

    name: str = ""
    name_error: str = ""

    @rx.var
    def login_link(self) -> str:
        return login_url(self.next_path)

    def _clear_errors(self) -> None:
        super()._clear_errors()
        self.name_error = ""

    def _show_field_error(self, field: str, message: str) -> None:
        if field == "name":
            self.name_error = message
        else:
            super()._show_field_error(field, message)

    @rx.event
    async def on_load(self) -> EventSpec | None:
        return await self._enter_form()

    @rx.event
    async def submit(self, form_data: dict[str, Any]) -> EventSpec | None:
        """Create the account, mail its verification link, then hand off to the cookie route;
        for an unclaimed user's email, mail the link that finishes the sign-up instead."""
        self._clear_errors()
        self.email = _field(form_data, "email").strip()
        self.name = _field(form_data, "name").strip()
        password = _field(form_data, "password")
        zone = timefmt.zone_from_cookie_header(self.router.headers.cookie)
        return await self._sign_in(
            functools.partial(_sign_up, self.email, password, self.name, self._client_ip(), zone)
        )
