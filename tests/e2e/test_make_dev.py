"""`make dev`, as a developer runs it, in a temporary copy of the project: demo data loaded,
the sign-in page open in Chromium, its text edited in the copy, and the open page showing the
new text without anyone restarting anything; then a demo account signs in, which needs the
dev server's forwarding of `/api` and its pre-sign-in cookie (`tutor_app/dev_server.py`).

The copy shares the project's `.venv` and `.tools` through symlinks (make is told not to
reinstall them) and a cached Reflex web directory, so only the app's own start is paid for.
Everything listens on loopback; the whole process group is killed at the end. Collected on
the SQLite run only: `make dev` uses its own SQLite database whatever the suite runs on.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.app_server import OFFLINE_ENV, PROJECT_ROOT
from tests.e2e.conftest import visitor_page
from tests.e2e.steps import expect_signed_in_as, goto, sign_in
from tests.fakes.server import free_port
from tutor_app import demo
from tutor_app.accounts import pre_sign_in
from tutor_app.cluster import claim_work_dirs, release_work_dirs

pytestmark = pytest.mark.e2e

START_TIMEOUT = 300.0  # a first run installs the frontend's packages into the cached web dir
RELOAD_TIMEOUT_MS = 60_000  # an edit is served in seconds; this only bounds a broken reload
LOGIN_INTRO = "Welcome back. Sign in to book and manage your lessons."
# Not copied: what the machine or a run made, and a developer's own settings.
_LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", ".tools", ".web", ".states", ".env", "var", "test-artifacts", "reflex.lock",
    "uploaded_files", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
)
# App settings of this test process that the developer's `make dev` would not have.
_DROPPED = ("APP_ENV", "APP_URL", "DATABASE_URL", "CATALOG_FILE", "OUTBOX_DIR", "MEDIA_DIR",
            "SMTP_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
            "STRIPE_API_BASE", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "OIDC_DISCOVERY_URL",
            "GOOGLE_API_BASE", "CLOCK_SHIFT_SECONDS", "SECRET_KEY", "MACHINE_DATE")


@dataclass
class DevServer:
    copy: Path
    url: str
    log: Path


def _copy_project(target: Path) -> Path:
    """The project's files (their times kept, so make sees nothing to rebuild), with the
    project's own virtualenv and tools linked in."""
    shutil.copytree(PROJECT_ROOT, target, ignore=_LEFT_OUT, symlinks=True)
    for shared in (".venv", ".tools"):
        (target / shared).symlink_to((PROJECT_ROOT / shared).resolve())
    return target


def _wait_for_page(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer yet"
    with httpx.Client(timeout=5.0) as client:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"make dev exited with {proc.returncode}\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"make dev: no page at {url} ({last})\n{_tail(log)}")
            try:
                page = client.get(url + "/login", headers={"accept": "text/html"})
                health = client.get(url + "/api/health")
                last = f"page {page.status_code}, /api/health {health.status_code}"
                if page.status_code == 200 and health.status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.5)


def _tail(log: Path, lines: int = 60) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # workers may outlive the leader
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def make_dev(tmp_path: Path, artifacts_dir: Path) -> Iterator[DevServer]:
    """`make dev` in a fresh copy of the project, on free loopback ports."""
    copy = _copy_project(tmp_path / "project")
    port, backend_port = free_port(), free_port()
    web_dir, states_dir, lock = claim_work_dirs("tutor-dev")
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(OFFLINE_ENV)
    env.update({"ENV_FILE": "", "REFLEX_WEB_WORKDIR": str(web_dir),
                "REFLEX_STATES_WORKDIR": str(states_dir)})
    log = artifacts_dir / "make-dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed",
             "-o", ".tools/node_modules/bun/bin/bun.exe", "dev", f"PORT={port}",
             f"BACKEND_PORT={backend_port}"],
            cwd=copy, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # one process group: make, Reflex, bun, the workers
        )
    try:
        server = DevServer(copy=copy, url=f"http://localhost:{port}", log=log)
        _wait_for_page(server.url, proc, log)
        yield server
    finally:
        _stop(proc)
        release_work_dirs(web_dir, lock)
        if web_dir.name.startswith("tmp-"):  # another run held the cached one
            shutil.rmtree(web_dir.parent, ignore_errors=True)


def test_an_edited_page_shows_without_a_restart_and_demo_accounts_sign_in(
    make_dev: DevServer, browser: Browser
) -> None:
    assert "demo data loaded" in make_dev.log.read_text(errors="replace")
    # The dev server's pages carry the pre-sign-in cookie; the backend's paths reach it.
    answer = httpx.get(make_dev.url + "/login", headers={"accept": "text/html"})
    assert answer.cookies.get(pre_sign_in.pre_sign_in_cookie_name())
    assert httpx.get(make_dev.url + "/api/health").json()["database"] == "up"

    page_file = make_dev.copy / "tutor_app" / "pages" / "login.py"
    source = page_file.read_text(encoding="utf-8")
    assert LOGIN_INTRO in source, "the sign-in page's text changed: update LOGIN_INTRO"
    edited = f"Hot reload works ({uuid.uuid4().hex[:8]})."

    with visitor_page(browser, make_dev.url, whose="make dev's sign-in page") as page:
        goto(page, "/login")
        expect(page.get_by_text(LOGIN_INTRO)).to_be_visible()

        page_file.write_text(source.replace(LOGIN_INTRO, edited), encoding="utf-8")

        # The same open page, never reloaded by the test, shows the new text.
        expect(page.get_by_text(edited)).to_be_visible(timeout=RELOAD_TIMEOUT_MS)
        expect(page.get_by_text(LOGIN_INTRO)).to_have_count(0)

        goto(page, "/login")
        sign_in(page, email=demo.STUDENT_EMAIL, password=demo.DEMO_PASSWORD)
        expect_signed_in_as(page, demo.STUDENT_NAME)
        expect(page).not_to_have_url(re.compile(r"/login"))
        expect(page.locator("#dev-outbox-link")).to_be_visible()
