"""The head script every page carries (`state/viewer_zone.py`) writes the browser's IANA zone
to the `tz` cookie before the page's websocket opens: through `Temporal` where the browser
has it, through `Intl` where it does not; either way the zone the visitor's browser is in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.e2e.app_server import ReflexApp
from tutor_app.core import timefmt
from tutor_app.state.viewer_zone import TZ_SCRIPT

pytestmark = pytest.mark.e2e

ZONE = "Australia/Adelaide"  # a half-hour offset: an offset guess could never name it
HIDE_TEMPORAL = "delete globalThis.Temporal;"


@pytest.mark.parametrize("with_temporal", [True, False], ids=["temporal", "intl-fallback"])
def test_the_page_writes_the_browsers_zone_to_the_cookie(
    browser: Browser, live_app: ReflexApp, with_temporal: bool
) -> None:
    context = browser.new_context(base_url=live_app.url, timezone_id=ZONE)
    try:
        if not with_temporal:
            context.add_init_script(HIDE_TEMPORAL)
        page = context.new_page()
        page.goto("/login")

        has_temporal = page.evaluate("typeof Temporal !== 'undefined'")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        asked = page.evaluate(TZ_SCRIPT)
    finally:
        context.close()

    assert has_temporal is with_temporal
    assert cookies[timefmt.TZ_COOKIE].replace("%2F", "/") == ZONE
    assert asked == ZONE  # what the page answers when the server asks (call_script)
