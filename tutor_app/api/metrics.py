"""GET /api/metrics: the Prometheus metrics of `core.metrics`, for the operator's scraper only.

Not public: with `METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>`
(compared in constant time); without it only a developer's own machine (`Settings.local_dev`)
serves them, to loopback clients. Anyone else gets 404, as if there were no such page; a
wrong or missing token, 401.

With `PROMETHEUS_MULTIPROC_DIR` set (several workers, see `core.metrics`), the numbers are
those of every worker of this node, added up from that directory.
"""

from __future__ import annotations

import hmac
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tutor_app.api.errors import error_json
from tutor_app.core import metrics  # noqa: F401  (defines the metrics served here)
from tutor_app.core.settings import get_settings, is_loopback_host

PATH = "/api/metrics"


def _allowed(request: Request) -> Response | None:
    """None when this request may scrape; else the answer to give it."""
    settings = get_settings()
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode()):
            return None
        refused = error_json(401, "metrics need the bearer token")
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    client = request.client.host if request.client else ""
    if settings.local_dev and is_loopback_host(client):
        return None
    return error_json(404, "not found")


def _exposition() -> bytes:
    """The text exposition of every metric (of every worker, in multiprocess mode)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def scrape(request: Request) -> Response:
    """A sync route: Starlette runs it in its thread pool (multiprocess mode reads files)."""
    refused = _allowed(request)
    if refused is not None:
        return refused
    response = Response(_exposition(), media_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [Route(PATH, scrape, methods=["GET"])]
