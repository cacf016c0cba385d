"""The app's layouts for the load benchmark: nodes x workers on one PostgreSQL and one Redis.

`start_layout` is the one place that starts them. It uses `tutor_app.cluster.start_cluster`
(nodes behind nginx) when the project has it, else `start_nodes` here: each node is the real
app (`reflex run --env prod --single-port`, `tests/e2e/app_server.ReflexApp`) with
`GRANIAN_WORKERS` workers, and with several nodes the load generator spreads its connections
round-robin over the nodes' own URLs instead of going through a proxy. Both give the same
interface: `.url`, `.node_urls`, `.node_pids()`, `.stop()`; `entry_urls(layout)` says where
the students connect.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tests.e2e.app_server import PROJECT_ROOT, ReflexApp

DROPPED_ENV = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "SECRET_KEY",
               "REDIS_URL", "GRANIAN_WORKERS", "DATABASE_URL", "APP_URL")


class Layout(Protocol):
    url: str
    node_urls: list[str]

    def node_pids(self) -> list[int]: ...
    def stop(self) -> None: ...


def worker_pids(group_leader: int) -> list[int]:
    """The backend worker processes of an app started in its own process group: the group's
    members forked by another member (Granian's supervisor forks one per worker); the leader's
    children when no member has a parent in the group."""
    import psutil

    group = os.getpgid(group_leader)
    members: dict[int, int] = {}
    for proc in psutil.process_iter(["pid", "ppid"]):
        try:
            if os.getpgid(proc.info["pid"]) == group:
                members[proc.info["pid"]] = proc.info["ppid"]
        except (ProcessLookupError, PermissionError):
            continue
    forked = [pid for pid, parent in members.items() if parent in members]
    # `reflex run` itself forks the Granian supervisor, which forks the workers: keep the
    # leaves (a supervisor is the parent of another member).
    parents = set(members.values())
    leaves = [pid for pid in forked if pid not in parents]
    return sorted(leaves or forked or [group_leader])


@dataclass
class Nodes:
    """Stand-in for `tutor_app.cluster.Cluster`: independent nodes, no proxy."""

    apps: list[ReflexApp]
    node_urls: list[str] = field(default_factory=list)
    stand_in: bool = True

    @property
    def url(self) -> str:
        return self.node_urls[0]

    def node_pids(self) -> list[int]:
        pids: list[int] = []
        for app in self.apps:
            if app._proc is not None:
                pids += worker_pids(app._proc.pid)
        return pids

    def stop(self) -> None:
        for app in self.apps:
            app.stop()


def start_nodes(*, nodes: int, workers: int, database_url: str, redis_url: str,
                env: Mapping[str, str] | None = None, log_dir: Path,
                timeout: float = 300) -> Nodes:
    """`nodes` copies of the app, one at a time (a build takes both CPUs), each with
    `workers` Granian workers."""
    started = Nodes(apps=[])
    try:
        for n in range(nodes):
            app = ReflexApp(
                app_dir=PROJECT_ROOT, name=f"tutor-bench-load-{n}",
                log_path=log_dir / f"bench-load-node{n}.log", drop_env=DROPPED_ENV,
                ready_paths=("/api/health", "/"),
            )
            outbox = tempfile.mkdtemp(prefix="tutor-bench-load-outbox-")
            app.extra_env.update(
                DATABASE_URL=database_url, REDIS_URL=redis_url, GRANIAN_WORKERS=str(workers),
                APP_ENV="dev", APP_URL=app.url, OUTBOX_DIR=outbox, ENV_FILE="",
                **dict(env or {}),
            )
            started.apps.append(app)
            app.start(timeout=timeout)
            started.node_urls.append(app.url)
    except BaseException:
        started.stop()
        raise
    return started


def start_layout(*, nodes: int, workers: int, database_url: str, redis_url: str,
                 env: Mapping[str, str] | None = None, log_dir: Path,
                 timeout: float = 300) -> Any:
    """The cluster module's nodes behind its proxy when the project has it, else `start_nodes`."""
    try:
        cluster = importlib.import_module("tutor_app.cluster")
    except ModuleNotFoundError:
        return start_nodes(nodes=nodes, workers=workers, database_url=database_url,
                           redis_url=redis_url, env=env, log_dir=log_dir, timeout=timeout)
    return cluster.start_cluster(nodes=nodes, workers=workers, database_url=database_url,
                                 redis_url=redis_url, env=dict(env or {}), log_dir=log_dir,
                                 timeout=timeout)


def entry_urls(layout: Any) -> list[str]:
    """Where students connect: the proxy's URL, or each node's in turn for the stand-in."""
    if getattr(layout, "stand_in", False):
        return list(layout.node_urls)
    return [str(layout.url)]
