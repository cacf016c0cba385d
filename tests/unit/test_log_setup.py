"""The log format: JSON lines with UTC time, level, logger, message, request id and fields;
the text format for people; LOG_FORMAT choosing between them."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading

import pytest

from tests.log_capture import json_log_lines
from tutor_app.core import log_setup, request_context
from tutor_app.core.settings import Settings, SettingsError

log = logging.getLogger("tutor_app.tests.log_setup")


def test_a_json_line_has_every_field() -> None:
    with json_log_lines() as lines:
        with request_context.bound_request_id("req-1"), \
                request_context.bound_fields(booking_id="bk1", skipped=None):
            log.info("booked %s", "it", extra={"session_id": "cs_1", "count": 3})
        log.warning("outside")
    inside, outside = lines.entries
    assert inside == {
        "time": inside["time"], "level": "INFO", "logger": "tutor_app.tests.log_setup",
        "message": "booked it", "request_id": "req-1", "booking_id": "bk1",
        "session_id": "cs_1", "count": 3,
    }
    assert inside["time"].endswith("Z") and len(inside["time"]) == len("2026-06-10T09:00:00.000Z")
    assert outside["request_id"] is None and "booking_id" not in outside


def test_an_exception_is_one_line_with_its_traceback() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tutor_app.tests.log_setup.exc")
    handler = log_setup.make_handler("json", stream)
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("bad \"input\"\nsecond line")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["message"] == "failed"
    assert "ValueError: bad \"input\"" in entry["exception"]


def test_the_id_is_read_in_the_logging_thread() -> None:
    """A thread started without the context logs no id; one given a copy logs the caller's."""
    seen: list[str | None] = []
    with json_log_lines() as lines, request_context.bound_request_id("caller"):
        plain = threading.Thread(target=lambda: log.info("plain"))
        plain.start()
        plain.join()
        ctx = contextvars.copy_context()
        copied = threading.Thread(target=lambda: ctx.run(log.info, "copied"))
        copied.start()
        copied.join()
        seen = [e["request_id"] for e in lines.entries]
    assert seen == [None, "caller"]


def test_text_format_names_the_request() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tutor_app.tests.log_setup.text")
    handler = log_setup.make_handler("text", stream)
    logger.addHandler(handler)
    try:
        logger.warning("no id")
        with request_context.bound_request_id("abc"):
            logger.warning("with id")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        "WARNING tutor_app.tests.log_setup.text [-]: no id",
        "WARNING tutor_app.tests.log_setup.text [abc]: with id",
    ]


def test_configure_logging_installs_one_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    log_setup.configure_logging("json")
    log_setup.configure_logging("text")  # again: replaces ours, keeps the others
    ours = [h for h in root.handlers if getattr(h, "_tutor_app_handler", False)]
    assert len(ours) == 1 and isinstance(ours[0].formatter, log_setup.TextFormatter)


def test_log_format_defaults_to_json_in_prod_and_text_elsewhere() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"LOG_FORMAT": "JSON"}).log_format == "json"
    prod = Settings(app_env="prod")
    assert prod.log_format == "json"
    assert Settings(app_env="prod", configured_log_format="text").log_format == "text"
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"})


def test_request_ids_are_validated_and_bounded() -> None:
    assert request_context.valid_request_id("a" * 64) == "a" * 64
    for bad in ("a" * 65, "", "a b", "a\nb", "é", None, 12):
        assert request_context.valid_request_id(bad) is None
    with request_context.bound_request_id("has space") as replaced:
        assert replaced != "has space" and len(replaced) == 32
    assert request_context.current_request_id() is None
