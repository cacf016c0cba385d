"""The API served over real HTTP: `api_server` (our routes) and `oidc` (a local OpenID provider).

`api_server` runs `tutor_app.api.build_api()` under uvicorn on 127.0.0.1, against the test
database of the `database` fixture, with APP_URL set to its own address (so redirect URIs and
the Origin check match what a browser would see). `oidc` adds a FakeOIDCProvider and points
GOOGLE_CLIENT_ID/SECRET and OIDC_DISCOVERY_URL at it, as an operator would for Google.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.fakes.oidc_provider import FakeOIDCProvider
from tests.fakes.server import ThreadedServer
from tutor_app.api import build_api
from tutor_app.core.settings import Settings
from tutor_app.integrations import oauth

ConfigureFn = Callable[..., Settings]


@pytest.fixture(scope="session")
def _running_api(_engine: sa.Engine) -> Iterator[ThreadedServer]:
    with ThreadedServer(build_api()) as server:
        yield server


@pytest.fixture
def api_server(
    _running_api: ThreadedServer, database: sa.Engine, configure: ConfigureFn
) -> ThreadedServer:
    """The API on a clean database, with Google sign-in off until `oidc` turns it on."""
    configure(APP_URL=_running_api.url, GOOGLE_CLIENT_ID=None, GOOGLE_CLIENT_SECRET=None,
              OIDC_DISCOVERY_URL=None, APP_ENV="dev")
    return _running_api


@pytest.fixture
def client(api_server: ThreadedServer) -> Iterator[httpx.Client]:
    """An HTTP client of the API (redirects not followed)."""
    with httpx.Client(base_url=api_server.url, follow_redirects=False, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def _running_provider() -> Iterator[FakeOIDCProvider]:
    with FakeOIDCProvider() as provider:
        yield provider


@pytest.fixture
def oidc(
    _running_provider: FakeOIDCProvider, api_server: ThreadedServer, configure: ConfigureFn
) -> Iterator[FakeOIDCProvider]:
    """The local OpenID provider, configured as the app's "google", with every switch reset."""
    _running_provider.reset()
    _running_provider.issuer = None
    configure(
        GOOGLE_CLIENT_ID=_running_provider.client_id,
        GOOGLE_CLIENT_SECRET=_running_provider.client_secret,
        OIDC_DISCOVERY_URL=_running_provider.discovery_url,
        APP_URL=api_server.url,
    )
    oauth.clear_caches()
    yield _running_provider
    oauth.clear_caches()
