"""A throw-away PostgreSQL cluster of the test's own, to stop and restart at will.

    with PgCluster() as pg:
        url = pg.url("app")        # after pg.create_database("app")
        pg.restart()               # pg_ctl restart -m fast: every connection is cut

Debian's server binaries (`/usr/lib/postgresql/<version>/bin`, `PG_BIN` wins) run `initdb` and
`pg_ctl` on a data directory under the system temp dir, listening on 127.0.0.1 on a free port
with trust authentication and durability off (a test cluster). PostgreSQL refuses to run as
root, so as root the cluster belongs to the `postgres` user (`runuser`). The shared server on
5432 is never touched.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

import sqlalchemy as sa

from tests.fakes.server import StartStop, free_port

RUN_AS = "postgres"


def _pg_bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin "
                           "(apt-get install postgresql), or set PG_BIN")
    return Path(found[-1]).parent


class PgCluster(StartStop):
    """Its own `initdb` cluster on a free port; `stop()` deletes it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="pg-cluster-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_root = os.geteuid() == 0
        self._initialised = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        # Output to a file, never a pipe: the server pg_ctl starts would keep a pipe open.
        with open(self.root / "pg_ctl.out", "w+") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout, check=False)
            out.seek(0)
            output = out.read()
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{output}\n{self.log_tail()}")

    def start(self) -> Self:
        """initdb on first use, then start and wait until it accepts connections."""
        if not self._initialised:
            if self._as_root:
                shutil.chown(self.root, RUN_AS, RUN_AS)
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "--no-sync", "-E", "UTF8")
            self._initialised = True
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                  "-w", "-t", "60", "start")
        self.wait_ready()
        return self

    def _options(self) -> str:
        return (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")

    def stop(self) -> None:
        """Stop the server (fast: cuts connections) and delete the cluster."""
        try:
            if self.running():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server, keeping its data (`resume()` starts it again on the same port)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self.start()

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every open connection is cut, the data stays."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                  "-m", "fast", "-w", "-t", "60", "restart")
        self.wait_ready()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        engine = sa.create_engine(self.url(), poolclass=sa.pool.NullPool)
        try:
            while True:
                try:
                    with engine.connect() as conn:
                        conn.exec_driver_sql("SELECT 1")
                    return
                except sa.exc.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        finally:
            engine.dispose()

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name`; its URL."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT",
                                  poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
