"""GET /api/health: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tutor_app.core import db as app_db

log = logging.getLogger(__name__)


def health(_request: Request) -> JSONResponse:
    try:
        with app_db.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})


routes = [Route("/api/health", health, methods=["GET"])]
