"""A redis-server of the test's own on a free port, to kill and start again at will.

    with RedisServer() as server:      # redis://127.0.0.1:<port>
        server.kill()                  # SIGKILL: clients get connection refused
        server.start()                 # the same port again, empty

No persistence (`--save "" --appendonly no`): a restart starts empty, as a Redis that lost its
data would. The shared Redis on 6379 is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

import redis

from tests.fakes.server import StartStop, free_port


class RedisServer(StartStop):
    """`redis-server` on 127.0.0.1:`port` in a temp dir; `stop()` ends it and deletes the dir."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="redis-server-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing (apt-get install redis-server)")
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 (the child keeps it)
        with log:
            self._proc = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.root)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 15
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        """SIGKILL the server (no goodbye to clients), keeping the port for `start()`."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)
