"""Browser tests against the real app, as a user gets it from `make run`.

`live_app` starts `reflex run --env prod --single-port` once for the browser tests, on a free
port, on the test database (SQLite or PostgreSQL, as `TEST_DATABASE` says) with the catalog
seeded, in dev-payments mode (no Stripe key: checkout goes to the app's own test-checkout
page). The app and the tests share that database, so every test signs up with its own unique
email instead of relying on cleanup between tests. Its mail goes to `mail_server`, a real SMTP
server in the test process (`mails_to` finds a recipient's mails there).

`stripe_live_app` is a second copy of the app, started only by the tests that ask for it (once
per package, so the suite pays its build once), that takes payments through the real Stripe
path: a test key, the webhook secret and `STRIPE_API_BASE` point it at `fake_stripe`, whose
hosted payment page completes the checkout session and posts a signed
`checkout.session.completed` to this app's webhook. A payment made there, and its refunds, go
through `stripe_gateway` and the `stripe` SDK exactly as in production; the fake records every
request (`tests.stripe_helpers.refund_requests`). Both apps serve the same database, mail
server, fake Google and clock. They also run the same periodic jobs on that database: each
job's lease goes to one of the two apps (whichever took it first keeps renewing it), so a test
of the Stripe path relies on the webhook and the cancel's own refund call, never on a job
(reconcile, refund retry) running in `stripe_live_app`. A booking paid through the fake
Stripe is canceled or refunded in `stripe_live_app`: `live_app` has no Stripe key.

`page` is a fresh Chromium context per test (no cookies carried over) on `live_app`, and
`stripe_page` the same on `stripe_live_app`. Reflex pages are driven over a websocket; each
page counts the state deltas the backend has sent (a small script wraps `WebSocket`), so a test
waits for "the backend has answered" instead of sleeping.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import reset_database
from tests.e2e.app_server import (
    PROJECT_ROOT,
    WS_PROBE,
    ChromiumMissing,
    ReflexApp,
    launch_chromium,
)
from tests.fakes.fake_google import FakeGoogle
from tests.fakes.fake_stripe import FakeStripe
from tests.fakes.smtp_server import ReceivedMail, SmtpServer
from tests.pinned_time import TEST_CATALOG_FILE, TEST_NOW, real_now
from tests.stripe_helpers import STRIPE_KEY, WEBHOOK_PATH, WEBHOOK_SECRET
from tutor_app.core import clock
from tutor_app.core.models import RateLimitCounter

# Settings the dev machine may carry that would change what the live app does.
_DROPPED_ENV = (
    "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "REDIS_URL",
    "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "OIDC_DISCOVERY_URL", "SMTP_URL", "SECRET_KEY",
)
STUDENT_TIMEZONE = "America/New_York"
# Generous: on a busy machine, signing up (Argon2) and the full-page reload after it take
# seconds; an action that never happens still fails, just later.
DEFAULT_TIMEOUT_MS = 30_000
expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Keep each phase's report on the test item, so fixtures can see that a test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def fresh_rate_limits(_engine: sa.Engine) -> None:
    """Each browser test starts with no rate-limit counters: every browser of the suite comes
    from 127.0.0.1, so the tests' sign-ups together would pass the per-address hourly limit
    that one visitor never reaches. The limits themselves are tested in tests/unit,
    tests/state and tests/api."""
    with _engine.begin() as conn:
        conn.execute(sa.delete(RateLimitCounter.__table__))  # type: ignore[attr-defined]


@pytest.fixture(scope="package")
def app_clock_shift() -> timedelta:
    """The browser tests and the app they drive share one clock, started at TEST_NOW when the
    package starts and ticking on: the app's pages and the tests' data agree on "now"."""
    return TEST_NOW - real_now()


@pytest.fixture(autouse=True)
def pinned_clock(app_clock_shift: timedelta) -> Iterator[None]:
    """Overrides the suite's per-test clock: here it is the app's clock, shared."""
    clock.shift_by(app_clock_shift)
    yield
    clock.reset()


@pytest.fixture(scope="package")
def fake_google() -> Iterator[FakeGoogle]:
    """A local Google (OAuth consent + Calendar API) that the live app is configured with.

    Started before the app, since the app reads its settings once, at start: Google sign-in
    ("Continue with Google") and the tutors' calendar connection both lead here, never to
    Google. Tests may set `.user` (who consents) and read `.events`.
    """
    with FakeGoogle() as google:
        yield google


@pytest.fixture(scope="package")
def mail_server() -> Iterator[SmtpServer]:
    """The SMTP server the live app sends every email to; tests read what arrived.

    Package-scoped like the app. Tests share it, so each finds its own mails by recipient
    (`mails_to`), never by position.
    """
    with SmtpServer() as server:
        yield server


def mails_to(server: SmtpServer, address: str, count: int = 1, *, subject: str = "",
             timeout: float = DEFAULT_TIMEOUT_MS / 1000) -> list[ReceivedMail]:
    """The first `count` mails for `address` (whose subject contains `subject`, when given),
    waiting up to `timeout` for them to arrive."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [mail for mail in server.messages
                if address in mail.rcpt_tos and subject in str(mail.message["subject"])]
        if len(mine) >= count:
            return mine[:count]
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} mail(s) to {address}, got {len(mine)}")
        time.sleep(0.1)


@pytest.fixture(scope="package")
def app_environment(
    database_url: str,
    _engine: sa.Engine,
    fake_google: FakeGoogle,
    mail_server: SmtpServer,
    app_clock_shift: timedelta,
) -> dict[str, str]:
    """What every live app of the package shares: the test database (emptied, with the
    catalog as the file has it, whatever tests ran before), the mail server, the fake Google
    and the clock. `APP_URL` is each app's own. Runs once, before either app starts."""
    reset_database(_engine)
    return {
        "DATABASE_URL": database_url,
        "CATALOG_FILE": str(TEST_CATALOG_FILE),
        "APP_ENV": "dev",
        "SMTP_URL": mail_server.url,
        "GOOGLE_CLIENT_ID": fake_google.client_id,
        "GOOGLE_CLIENT_SECRET": fake_google.client_secret,
        "OIDC_DISCOVERY_URL": fake_google.discovery_url,
        "GOOGLE_API_BASE": fake_google.api_root,
        "CLOCK_SHIFT_SECONDS": str(app_clock_shift.total_seconds()),
    }


def _tutor_app(environment: dict[str, str], artifacts_dir: Path, *, variant: str = ""
               ) -> ReflexApp:
    """The app on a free port with `environment`, not started yet (its `url` is known).

    A `variant` ("stripe") gets its own build directory and log
    (`test-artifacts/e2e-<variant>-app-<backend>.log`): two apps never build into one.
    """
    backend = sa.make_url(environment["DATABASE_URL"]).get_backend_name()
    prefix = f"{variant}-" if variant else ""
    app = ReflexApp(
        app_dir=PROJECT_ROOT,
        name=f"tutor-e2e-{prefix}{backend}",
        log_path=artifacts_dir / f"e2e-{prefix}app-{backend}.log",
        drop_env=_DROPPED_ENV,
        ready_paths=("/api/health", "/"),
    )
    app.extra_env.update({**environment, "APP_URL": app.url})
    return app


def dev_app(name: str, artifacts_dir: Path, clock_shift: timedelta, **env: str) -> ReflexApp:
    """The app in local-dev mode on a free port, not started yet: its own build directory
    (`tutor-e2e-<name>`) and log (`test-artifacts/e2e-app-<name>.log`), the test catalog and
    clock, and `env` (DATABASE_URL at least; REDIS_URL, GRANIAN_WORKERS, ...)."""
    app = ReflexApp(
        app_dir=PROJECT_ROOT,
        name=f"tutor-e2e-{name}",
        log_path=artifacts_dir / f"e2e-app-{name}.log",
        drop_env=_DROPPED_ENV,
        ready_paths=("/api/health", "/"),
    )
    app.extra_env.update({
        "CATALOG_FILE": str(TEST_CATALOG_FILE),
        "APP_ENV": "dev",
        "CLOCK_SHIFT_SECONDS": str(clock_shift.total_seconds()),
        **env,
        "APP_URL": app.url,
    })
    return app


@contextmanager
def serving(app: ReflexApp) -> Iterator[ReflexApp]:
    """`app` started (a first build takes minutes), stopped with its whole process group."""
    app.start(timeout=300)
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="package")
def live_app(app_environment: dict[str, str], artifacts_dir: Path) -> Iterator[ReflexApp]:
    """The real app on a free port, serving the test database with the catalog loaded, in
    dev-payments mode.

    Package-scoped: it stops when the browser tests are done, before later tests start
    truncating the shared database under it.
    """
    with serving(_tutor_app(app_environment, artifacts_dir)) as app:
        yield app


@pytest.fixture(scope="package")
def fake_stripe(app_clock_shift: timedelta) -> Iterator[FakeStripe]:
    """The local Stripe API `stripe_live_app` is configured with, and its hosted payment page.

    It dates its checkout sessions by the app's clock (the app asks for an `expires_at` on
    that clock, as Stripe and a real app share real time); its webhook signatures carry real
    time, as the app checks them. `stripe_live_app` sets its `webhook_url`. Tests share it, so
    each finds its own requests by its own objects (checkout session, payment intent), never
    by position or count alone.
    """
    with FakeStripe(
        webhook_secret=WEBHOOK_SECRET,
        clock=lambda: (real_now() + app_clock_shift).timestamp(),
    ) as fake:
        yield fake


@pytest.fixture(scope="package")
def stripe_live_app(
    app_environment: dict[str, str], artifacts_dir: Path, fake_stripe: FakeStripe
) -> Iterator[ReflexApp]:
    """A second copy of the app that takes payments through `fake_stripe` (a test key, so
    test mode), beside `live_app` on the same database, mail server and clock. Started only
    by the tests that ask for it, once per package."""
    app = _tutor_app(app_environment, artifacts_dir, variant="stripe")
    app.extra_env.update(
        {
            "STRIPE_SECRET_KEY": STRIPE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": fake_stripe.url,
        }
    )
    fake_stripe.webhook_url = app.url + WEBHOOK_PATH
    with serving(app):
        yield app


@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    """Package-scoped: Playwright's sync API keeps an event loop running in this thread, and
    the tests that run after the browser tests start their own loops."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (the Makefile's `browser` target installs it); never a download."""
    try:
        browser = launch_chromium(playwright_instance)
    except ChromiumMissing as exc:
        pytest.fail(f"{exc} The browser tests are not optional.", pytrace=False)
    yield browser
    browser.close()


@contextmanager
def visitor_page(browser: Browser, base_url: str, *, whose: str = "the page",
                 **context_args: Any) -> Iterator[Page]:
    """A page in a new browser context (no cookies) in the student's time zone, counting the
    state deltas the backend sends; the context is closed after, and JavaScript errors on the
    page fail the test."""
    context = browser.new_context(
        base_url=base_url, timezone_id=STUDENT_TIMEZONE, locale="en-US",
        viewport={"width": 1280, "height": 900}, **context_args,
    )
    context.add_init_script(WS_PROBE)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on {whose}: {errors}"


@contextmanager
def app_page(browser: Browser, app: ReflexApp, artifacts_dir: Path,
             request: pytest.FixtureRequest, *, label: str = "") -> Iterator[Page]:
    """A new visitor of `app` (`visitor_page`). When the test fails, the page as it was is
    saved (`<test>__FAILED<label>.png`) and the tail of the app's log is printed with the
    failure."""
    with visitor_page(browser, app.url) as page:
        yield page
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            name = re.sub(r"[^A-Za-z0-9_]+", "-", request.node.name)
            backend = os.environ.get("TEST_DATABASE", "sqlite")
            shot = artifacts_dir / "e2e" / f"{backend}__{name}__FAILED{label}.png"
            shot.parent.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(shot), full_page=True)
            except PlaywrightError as exc:
                print(f"no failure screenshot: {exc}")
            print(f"page at failure: {page.url} (screenshot {shot})")
            print(app.log_tail(40))


@pytest.fixture
def page(
    browser: Browser, live_app: ReflexApp, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A new visitor of `live_app`: a fresh context (no cookies) in the student's time zone."""
    with app_page(browser, live_app, artifacts_dir, request) as page:
        yield page


@pytest.fixture
def stripe_page(
    browser: Browser,
    stripe_live_app: ReflexApp,
    artifacts_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    """A new visitor of `stripe_live_app` (checkout through the fake Stripe), like `page`."""
    with app_page(browser, stripe_live_app, artifacts_dir, request, label="-stripe") as page:
        yield page


@dataclass
class Shots:
    """Numbered screenshots named for the test and the step: `<test>__03-review.png`."""

    page: Page
    folder: Path
    prefix: str
    count: int = 0

    def __call__(self, step: str, page: Page | None = None) -> Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.prefix}__{self.count:02d}-{slug}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)
        return path


def _shots(page: Page, artifacts_dir: Path, request: pytest.FixtureRequest) -> Shots:
    folder = artifacts_dir / "e2e"
    folder.mkdir(exist_ok=True)
    prefix = re.sub(r"[^A-Za-z0-9_]+", "-", request.node.name)
    backend = os.environ.get("TEST_DATABASE", "sqlite")
    return Shots(page=page, folder=folder, prefix=f"{backend}__{prefix}")


@pytest.fixture
def shot(page: Page, artifacts_dir: Path, request: pytest.FixtureRequest) -> Shots:
    """Call `shot("step name")` after each step; the image lands in test-artifacts/."""
    return _shots(page, artifacts_dir, request)


@pytest.fixture
def stripe_shot(stripe_page: Page, artifacts_dir: Path, request: pytest.FixtureRequest) -> Shots:
    """`shot` of `stripe_page` (asking for `shot` would start `live_app` too)."""
    return _shots(stripe_page, artifacts_dir, request)


@pytest.fixture
def new_email() -> Callable[[str], str]:
    """A unique address per call: the live app and the tests share one database."""

    def make(who: str = "student") -> str:
        return f"{who}-{uuid.uuid4().hex[:12]}@example.test"

    return make

