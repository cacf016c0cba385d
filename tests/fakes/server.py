"""Run an ASGI app with uvicorn in a daemon thread on 127.0.0.1, for tests.

    with ThreadedServer(app) as server:
        httpx.get(server.url + "/health")

The listening socket is bound before the thread starts (port 0 picks a free port), so `.port`
and `.url` are known at once and no other process can take the port in between.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ThreadedServer", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (prefer ThreadedServer(port=None), which has no race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class StartStop:
    """`with Fake() as fake:` for every local stand-in: start on enter, stop on exit."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ThreadedServer(StartStop):
    """uvicorn serving `app` in a daemon thread; `.start()` returns once it accepts connections."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int = port or 0

    @property
    def url(self) -> str:
        """Base address without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if not self.port:
            raise RuntimeError("ThreadedServer is not started")
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port or 0))
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            loop="asyncio",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            # As granian (what `reflex run` serves with): X-Forwarded-For is the app's to read
            # (`TRUSTED_PROXY_HOPS`), never the server's; uvicorn would trust it from loopback.
            proxy_headers=False,
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"ThreadedServer:{self.port}",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("ThreadedServer: uvicorn exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"ThreadedServer did not start within {timeout}s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._server = None
        self._thread = None

