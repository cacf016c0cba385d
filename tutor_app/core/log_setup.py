"""The app's logging, configured in one place: JSON lines (prod) or plain text (dev, tests).

`configure_logging()` is called once at start-up by the Reflex app (`tutor_app.py`) and the
CLI. It puts one handler on the root logger, so the app's own loggers (`tutor_app.*`) and any
library logging through `logging` come out in one format on stderr. `LOG_FORMAT`
(`core.settings`) chooses: `json` (the default in prod) writes one JSON object per line,

    {"time": "2026-06-10T09:00:00.123Z", "level": "INFO", "logger": "tutor_app.booking...",
     "message": "...", "request_id": "3f2c...", "booking_id": "..."}

with `request_id` (null outside a request) and the fields bound by
`request_context.bound_fields` or passed as `extra={...}` (e.g. `booking_id`, `session_id`);
`text` writes `LEVEL logger [request id]: message`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from tutor_app.core import request_context
from tutor_app.core.settings import get_settings

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "request_id", "taskName"}
TEXT_FORMAT = "%(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestContextFilter(logging.Filter):
    """Stamps each record with the request id and bound fields of the code that logged it.

    A handler's filter runs in the logging thread, at the call, so it sees that code's context.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_context.current_request_id()
        for name, value in request_context.current_fields().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def _utc_time(created: float) -> str:
    stamp = datetime.fromtimestamp(created, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                entry[name] = _jsonable(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`LEVEL logger [request id]: message`, for a person reading a terminal."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request_id = request_id or "-"
        try:
            return super().format(record)
        finally:
            record.request_id = request_id


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at each record (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def make_handler(log_format: str, stream: Any = None) -> logging.Handler:
    """A handler writing `log_format` ("json" or "text") to `stream`, by default stderr."""
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    return handler


def configure_logging(log_format: str | None = None, *, level: int = logging.INFO) -> None:
    """Put the app's one handler on the root logger (replacing an earlier one of ours, so
    calling it twice is harmless). `log_format` defaults to the `LOG_FORMAT` setting."""
    if log_format is None:
        log_format = get_settings().log_format
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_tutor_app_handler", False)]:
        root.removeHandler(old)
    handler = make_handler(log_format)
    handler._tutor_app_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
