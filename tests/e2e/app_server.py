"""Run a Reflex app the way a user gets it (`reflex run --env prod --single-port`), for tests.

Used by the e2e fixtures (the tutor app) and by `bench/wizard.py` (the tutor app and the blank
floor app). The app runs in its own process group, so stopping it also stops the Node/bun
build and the backend workers it spawned; its output goes to a log file whose tail is shown
when it fails to come up.

Each app gets its own Reflex web and states work directories (`REFLEX_WEB_WORKDIR`,
`REFLEX_STATES_WORKDIR`) under the system temp dir: concurrent runs never share
the project's `.web`, and a directory kept between runs saves the `bun install` step (Reflex
recompiles the pages every start anyway).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx

from tests.fakes.server import StartStop, free_port
from tutor_app.cluster import claim_work_dirs, offline_env, release_work_dirs

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REFLEX_BIN = Path(sys.executable).with_name("reflex")

# Reflex must never reach the internet here: no telemetry, no version check.
OFFLINE_ENV = offline_env()


# Counts socket.io event packets ("42...") the backend sends: every state delta is one. A
# count above zero means the websocket is connected and the page's state is hydrated.
WS_PROBE = """
(() => {
  const Native = window.WebSocket;
  window.__rxDeltas = 0;
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string" && e.data.startsWith("42")) window.__rxDeltas += 1;
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {
    CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3,
  });
})();
"""


def wait_for_backend(page: Page, at_least: int = 1, timeout: float | None = None) -> None:
    """Wait until the backend has sent `at_least` state deltas to this document (needs
    `WS_PROBE` as an init script): the websocket is up and the page's state is loaded."""
    page.wait_for_function(f"(window.__rxDeltas || 0) >= {at_least}", timeout=timeout)


def deltas(page: Page) -> int:
    """How many state deltas this document has received so far."""
    return int(page.evaluate("window.__rxDeltas || 0"))


CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class ChromiumMissing(RuntimeError):
    """No Chromium binary where we look; never fall back to downloading one."""


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium (`make browser` installs it), never `playwright install`'s."""
    if not CHROMIUM.exists():
        raise ChromiumMissing(
            f"Chromium is missing at {CHROMIUM}: run `make browser` (apt-get install chromium) "
            "or set CHROMIUM_PATH."
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


class AppStartError(RuntimeError):
    """The app did not come up; the message carries the tail of its log."""


class ReflexApp(StartStop):
    """`reflex run --env prod --single-port` on one free port, in its own process group.

    `ready_paths` are GET paths that must all answer 200 before `start()` returns (the
    frontend's `/` at least; the tutor app adds `/api/health`).
    """

    def __init__(
        self,
        *,
        app_dir: Path,
        name: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        drop_env: tuple[str, ...] = (),
        ready_paths: tuple[str, ...] = ("/",),
        port: int | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.name = name
        self.log_path = log_path
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        self.ready_paths = ready_paths
        self.web_dir, self.states_dir, lock = claim_work_dirs(name)
        self._lock: IO[bytes] | None = lock
        self.extra_env = dict(env or {})
        self._drop_env = drop_env
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self.startup_seconds: float = 0.0

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in self._drop_env}
        env.update(OFFLINE_ENV)
        env.update(
            {
                "REFLEX_WEB_WORKDIR": str(self.web_dir),
                "REFLEX_STATES_WORKDIR": str(self.states_dir),
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 300.0) -> ReflexApp:
        if not REFLEX_BIN.exists():
            raise AppStartError(f"{REFLEX_BIN} is missing: run `make setup`")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self._log_file = log
        port = str(self.port)
        started = time.monotonic()
        self._proc = subprocess.Popen(
            [
                str(REFLEX_BIN), "run", "--env", "prod", "--single-port",
                "--frontend-port", port, "--backend-port", port, "--loglevel", "info",
            ],
            cwd=self.app_dir,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed as a whole in stop()
        )
        try:
            self._wait_ready(started + timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, deadline: float) -> None:
        pending = list(self.ready_paths)
        last = "no answer yet"
        with httpx.Client(timeout=5.0) as client:
            while pending:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise AppStartError(
                        f"{self.name}: `reflex run` exited with {self._proc.returncode} before "
                        f"serving {pending[0]}\n{self.log_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise AppStartError(
                        f"{self.name}: not ready at {self.url}{pending[0]} ({last})\n"
                        f"{self.log_tail()}"
                    )
                try:
                    response = client.get(self.url + pending[0])
                    last = f"HTTP {response.status_code}"
                    if response.status_code == 200 and _is_expected(pending[0], response):
                        pending.pop(0)
                        continue
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.5)

    def process_group(self) -> int:
        """The app's process group (`reflex run`, Granian and its workers); it must be running."""
        if self._proc is None:
            raise AppStartError(f"{self.name} is not running")
        return self._proc.pid

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
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
        # The group may outlive its leader (workers); make sure nothing keeps the port.
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        log, self._log_file = self._log_file, None
        if log is not None:
            log.close()
        self._release_work_dirs()

    def _release_work_dirs(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            release_work_dirs(self.web_dir, lock)



def _is_expected(path: str, response: httpx.Response) -> bool:
    """`/` must be the built frontend (an HTML page), not a placeholder or an API answer."""
    if path.startswith("/api/"):
        return True
    return "text/html" in response.headers.get("content-type", "") and "<html" in response.text
