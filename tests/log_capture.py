"""Capture the app's log lines as the production handler writes them (JSON), for tests."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tutor_app.core import log_setup


class JsonLines:
    """The JSON log lines written so far, parsed."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines() if line]

    def matching(self, logger: str, text: str) -> list[dict[str, Any]]:
        """Lines of `logger` (or a child) whose message contains `text`."""
        return [e for e in self.entries
                if (e["logger"] == logger or e["logger"].startswith(logger + "."))
                and text in e["message"]]


@contextmanager
def json_log_lines(level: int = logging.INFO) -> Iterator[JsonLines]:
    """Add the app's JSON handler (request id filter included) to the root logger."""
    stream = io.StringIO()
    handler = log_setup.make_handler("json", stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
