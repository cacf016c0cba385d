"""The scripts a page makes the browser fetch before it can start (`shared_chunks.py`): the
library code most pages use comes in one shared file, the same on every page, so a visitor
fetches it once; a library only the admin overview uses (its charts) never reaches a
student's pages."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.app_server import ReflexApp

pytestmark = pytest.mark.e2e

STUDENT_PAGES = ("/", "/book-now", "/forgot-password", "/login", "/signup", "/dashboard",
                 "/account")
# Before the shared chunk a student's page preloaded 36-42 scripts; the blank Reflex app 9.
MAX_SCRIPTS = 16
MODULE_PRELOAD = re.compile(r'<link rel="modulepreload" href="([^"]+)"')
VENDOR = re.compile(r"^/assets/vendor-[\w-]+\.js$")
CHART_MARK = "recharts-wrapper"  # a class name only the chart library's code holds


def _preloaded_scripts(client: httpx.Client, path: str) -> list[str]:
    response = client.get(path)
    response.raise_for_status()
    return MODULE_PRELOAD.findall(response.text)


def test_student_pages_share_one_library_chunk_and_load_few_scripts(live_app: ReflexApp) -> None:
    with httpx.Client(base_url=live_app.url, timeout=30, follow_redirects=True) as client:
        scripts = {path: _preloaded_scripts(client, path) for path in STUDENT_PAGES}
        vendor = {path: [s for s in found if VENDOR.match(s)] for path, found in scripts.items()}

        for path, found in scripts.items():
            assert len(found) <= MAX_SCRIPTS, f"{path} preloads {len(found)} scripts: {found}"
            assert len(vendor[path]) == 1, f"{path} has no single shared chunk: {found}"
        assert len({chunk for (chunk,) in vendor.values()}) == 1, vendor

        student_code = {s: client.get(s).text for found in scripts.values() for s in found}
        admin_code = [client.get(s).text for s in _preloaded_scripts(client, "/admin")]

    assert not [s for s, code in student_code.items() if CHART_MARK in code]
    assert any(CHART_MARK in code for code in admin_code), "the admin overview lost its charts"
