"""The booking wizard in Chromium, beside a blank Reflex app (the framework's floor).

Both apps run as a user gets them (`reflex run --env prod --single-port`, each on its own port
and web directory) and are measured the same way, in the same run, in the same browser:

- step round trip: click to rendered. Wizard: Back/Next between steps 2 and 3 of
  `/book-now?tutor=...` (until `#step-2`/`#step-3` is in the page). Floor: the counter button
  (until `#count` shows the new number). Timed from Python around Playwright's click and
  wait (the way the issue's reference figure was taken), and inside the page from the click
  event to the DOM mutation that shows the result (no Playwright overhead).
- navigation to interactive: from `page.goto` until the first state-driven interaction has
  rendered: the page's state arrived over the websocket, then one click (wizard: a lesson
  length, which moves to step 3; floor: the counter) and its result on screen. Twice: with a
  warm browser cache (a returning visitor in a new tab; the first navigation is a warm-up)
  and as a first visit (a new browser profile each time, nothing cached).

Target: within 1.2x of the floor for both (p50 and p90).
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench import Report, Row, fresh_database, median, percentile, verdict
from tests.e2e.app_server import PROJECT_ROOT, WS_PROBE, ReflexApp, launch_chromium

CLICKS = 30
NAVIGATIONS = 10
COLD_NAVIGATIONS = 5
WARMUP_CLICKS = 4
BLOCK = 5
TUTOR_ID = "james-okafor"
TARGET_RATIO = 1.2
LOG_DIR = PROJECT_ROOT / "test-artifacts"

# Times a click (capture phase, before React sees it) and the first DOM change after it for
# which `window.__until()` holds; both on the page's own clock.
_TIMER = """
(() => {
  document.addEventListener("click", () => { window.__clickAt = performance.now(); }, true);
  window.__arm = (predicateSource) => {
    const done = new Function("return (" + predicateSource + ")");
    window.__renderedAt = undefined;
    const observer = new MutationObserver(() => {
      if (window.__renderedAt === undefined && done()) {
        window.__renderedAt = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document.body, {subtree: true, childList: true, characterData: true,
                                     attributes: true});
  };
})();
"""


class Timings:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.in_page: list[float] = []


def _click_until(page: Page, selector: str, predicate: str, timings: Timings | None) -> None:
    """Click `selector` and return once `predicate` (JS) holds; record both timings."""
    page.evaluate("p => window.__arm(p)", predicate)
    started = time.perf_counter()
    page.click(selector)
    page.wait_for_function(predicate, polling="raf")
    elapsed = time.perf_counter() - started
    page.wait_for_function("window.__renderedAt !== undefined")
    if timings is not None:
        timings.wall.append(elapsed)
        timings.in_page.append(
            page.evaluate("window.__renderedAt - window.__clickAt") / 1000.0
        )


def _present(selector: str) -> str:
    return f"document.querySelector({selector!r}) !== null"


# --- the two apps, measured the same way --------------------------------------------------


class Counter:
    """The floor: `/` of the blank app; each click adds one to `#count`."""

    def __init__(self, page: Page, url: str) -> None:
        self.page, self.clicks = page, 0
        page.goto(url)
        page.wait_for_function("(window.__rxDeltas || 0) >= 1")

    def step(self, timings: Timings | None) -> None:
        self.clicks += 1
        predicate = f"document.querySelector('#count')?.textContent === '{self.clicks}'"
        _click_until(self.page, "#increment", predicate, timings)


class Wizard:
    """The app: `/book-now?tutor=...` with a length chosen; clicks go Back and Next between
    steps 2 and 3."""

    def __init__(self, page: Page, url: str) -> None:
        self.page, self.at = page, 3
        page.goto(f"{url}/book-now?tutor={TUTOR_ID}")
        page.wait_for_function("(window.__rxDeltas || 0) >= 1")
        _click_until(page, "#duration-60", _present("#step-3"), None)  # a length: step 3

    def step(self, timings: Timings | None) -> None:
        back = self.at == 3
        self.at = 2 if back else 3
        _click_until(self.page, "#back" if back else "#next", _present(f"#step-{self.at}"),
                     timings)


def _first_interaction(page: Page, url: str, click: str, predicate: str) -> float:
    # A new Reflex session each time (its token lives in sessionStorage), as a new tab has;
    # otherwise the floor's counter would go on from where the last run left it.
    if page.url.startswith("http"):
        page.evaluate("sessionStorage.clear()")
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function("(window.__rxDeltas || 0) >= 1", polling="raf")
    page.click(click)
    page.wait_for_function(predicate, polling="raf")
    return time.perf_counter() - started


# --- running it ---------------------------------------------------------------------------


def _row(report: Report, measure: str, app: list[float], floor: list[float],
         *, p: int = 90) -> None:
    a50, f50 = median(app), median(floor)
    ap, fp = percentile(app, p), percentile(floor, p)
    ratio = max(a50 / f50, ap / fp)
    report.add(Row(
        bench="wizard", measure=f"{measure}: p50 / p{p}",
        value=f"{a50 * 1000:.0f} / {ap * 1000:.0f} ms",
        reference=f"{f50 * 1000:.0f} / {fp * 1000:.0f} ms",
        ratio=f"{a50 / f50:.2f}x / {ap / fp:.2f}x",
        target=f"<= {TARGET_RATIO}x", verdict=verdict(ratio <= TARGET_RATIO),
    ))


def run(report: Report) -> None:
    print(f"wizard: {CLICKS} clicks and {NAVIGATIONS} navigations per app, in Chromium",
          flush=True)
    LOG_DIR.mkdir(exist_ok=True)
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_database("sqlite"))
        blank = ReflexApp(
            app_dir=Path(__file__).resolve().parent / "blank_app", name="tutor-bench-blank",
            log_path=LOG_DIR / "bench-wizard-blank-app.log",
        )
        tutor = ReflexApp(
            app_dir=PROJECT_ROOT, name="tutor-bench-app",
            log_path=LOG_DIR / "bench-wizard-tutor-app.log", ready_paths=("/api/health", "/"),
            drop_env=("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE",
                      "REDIS_URL", "SECRET_KEY"),
        )
        outbox = stack.enter_context(tempfile.TemporaryDirectory(prefix="tutor-bench-outbox-"))
        tutor.extra_env.update(DATABASE_URL=database_url, APP_ENV="dev", APP_URL=tutor.url,
                               OUTBOX_DIR=outbox, ENV_FILE="")
        for app in (blank, tutor):  # one build at a time: they would share the CPUs
            stack.enter_context(app)
            print(f"  {app.name} up in {app.startup_seconds:.0f} s at {app.url}", flush=True)

        pw = stack.enter_context(sync_playwright())
        browser = launch_chromium(pw)
        stack.callback(browser.close)

        def new_page() -> Page:
            context = browser.new_context(timezone_id="America/New_York",
                                          viewport={"width": 1280, "height": 900})
            stack.callback(context.close)
            context.add_init_script(WS_PROBE)
            context.add_init_script(_TIMER)
            context.set_default_timeout(30_000)
            return context.new_page()

        # Alternate between the two apps in small blocks, so that other work on the machine
        # during the run weighs on both alike.
        floor_steps, app_steps = Timings(), Timings()
        counter, wizard = Counter(new_page(), blank.url), Wizard(new_page(), tutor.url)
        for _ in range(WARMUP_CLICKS):
            counter.step(None)
            wizard.step(None)
        for block in range(0, CLICKS, BLOCK):
            for _ in range(min(BLOCK, CLICKS - block)):
                counter.step(floor_steps)
            for _ in range(min(BLOCK, CLICKS - block)):
                wizard.step(app_steps)

        floor_first = ("#increment", "document.querySelector('#count')?.textContent === '1'")
        app_first = ("#duration-60", _present("#step-3"))
        app_url = f"{tutor.url}/book-now?tutor={TUTOR_ID}"
        floor_page, app_page = new_page(), new_page()
        floor_nav: list[float] = []
        app_nav: list[float] = []
        floor_cold: list[float] = []
        app_cold: list[float] = []
        for i in range(NAVIGATIONS + 1):  # the first, cold, is a warm-up
            floor_time = _first_interaction(floor_page, blank.url, *floor_first)
            app_time = _first_interaction(app_page, app_url, *app_first)
            if i:
                floor_nav.append(floor_time)
                app_nav.append(app_time)
        for _ in range(COLD_NAVIGATIONS):  # a first visit: a new browser profile, no cache
            floor_cold.append(_first_interaction(new_page(), blank.url, *floor_first))
            app_cold.append(_first_interaction(new_page(), app_url, *app_first))

    _row(report, "step change, click to rendered (Playwright)", app_steps.wall, floor_steps.wall)
    _row(report, "step change, click to DOM (in page)", app_steps.in_page, floor_steps.in_page)
    _row(report, "navigation to interactive, warm cache", app_nav, floor_nav)
    _row(report, "navigation to interactive, first visit", app_cold, floor_cold)
    report.note("wizard reference = bench/blank_app (one counter button), built and measured "
                "in the same run the same way")
