"""Several app nodes behind nginx on loopback: `make cluster`, the multi-node tests, the bench.

Each node is one `reflex run --env prod --single-port` on its own loopback port, with its own
`GRANIAN_WORKERS`, in its own process group; every node has the proxy's origin as `APP_URL`
(and as Reflex's `api_url`, so the pages open their websocket through the proxy). All nodes
share one PostgreSQL and one Redis. nginx (`deploy/nginx.conf.template`) runs unprivileged
with its own prefix under `log_dir`, round-robin over the nodes.

The frontend is built once: node 0 compiles and builds it into a web directory the other
nodes then serve as it is (`python -m tutor_app.cluster serve-built`, the same `reflex run`
with its compile and build steps left out), so N nodes cost one build, not N.

`python -m tutor_app.cluster [--nodes 2] [--workers 2] [--port 8080]` migrates the database
once (`cli prestart`), starts the layout, prints its URL, restarts the nodes one by one on
SIGHUP (a rolling restart) and stops everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFLEX_BIN = Path(sys.executable).with_name("reflex")
NGINX_BIN = Path(os.environ.get("NGINX_PATH", "/usr/sbin/nginx"))
NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.template"
READY_PATHS = ("/api/health", "/")


class ClusterError(RuntimeError):
    """A node or the proxy did not come up; the message carries the tail of its log."""


@functools.cache
def offline_env() -> dict[str, str]:
    """The environment that keeps Reflex offline: no telemetry, no version check, the
    machine's own npm registry, the project's bun (the Makefile exports the same)."""
    registry = subprocess.run(
        ["npm", "config", "get", "registry"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "NPM_CONFIG_REGISTRY": registry,
        "REFLEX_BUN_PATH": str(PROJECT_ROOT / ".tools/node_modules/bun/bin/bun.exe"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def claim_work_dirs(name: str) -> tuple[Path, Path, IO[bytes]]:
    """Reflex web and states dirs for one run, and the lock that holds them: the cached
    `/tmp/<name>-web` when no other run holds it (its `bun install` is kept between runs),
    else a throw-away pair under `/tmp/<name>-*/tmp-web` (slower, never shared)."""
    base = Path(tempfile.gettempdir())
    lock = open(base / f"{name}.lock", "wb")  # noqa: SIM115 (held until released)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        scratch = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        lock = open(scratch / "lock", "wb")  # noqa: SIM115
        web, states = scratch / "tmp-web", scratch / "tmp-states"
    else:
        web, states = base / f"{name}-web", base / f"{name}-states"
    web.mkdir(parents=True, exist_ok=True)
    states.mkdir(parents=True, exist_ok=True)
    return web, states, lock


def _empty_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def release_work_dirs(web_dir: Path, lock: IO[bytes]) -> None:
    """Give back what `claim_work_dirs` handed out; a throw-away pair is deleted."""
    lock.close()
    if web_dir.name.startswith("tmp-"):
        shutil.rmtree(web_dir.parent, ignore_errors=True)


def group_pids(group: int) -> list[int]:
    """Every live process in a process group (read from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[2]) == group and fields[0] != "Z":  # the group; not a zombie
            pids.append(int(entry.name))
    return sorted(pids)


def stop_group(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM a process group, SIGKILL what is left after `grace` seconds, reap its leader."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    # The group may outlive its leader (workers): nothing may keep a port.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"--- last {lines} lines of {path} ---\n{tail}"


@dataclass
class _Group:
    """One started command in its own process group, its output in a log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @classmethod
    def start(
        cls, name: str, command: Sequence[str], env: Mapping[str, str], log_path: Path
    ) -> _Group:
        log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        proc = subprocess.Popen(
            list(command), cwd=PROJECT_ROOT, env=dict(env), stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as a whole
        )
        return cls(name, proc, log_path, log)

    def stop(self) -> None:
        stop_group(self.proc)
        self.log.close()

    def wait_ready(self, url: str, paths: Sequence[str], deadline: float) -> None:
        """Until every path answers 200 at `url` (`/` with the built HTML page)."""
        pending, last = list(paths), "no answer yet"
        with httpx.Client(timeout=5.0) as client:
            while pending:
                if self.proc.poll() is not None:
                    raise ClusterError(f"{self.name} exited with {self.proc.returncode} before "
                                       f"serving {pending[0]}\n{log_tail(self.log_path)}")
                if time.monotonic() > deadline:
                    raise ClusterError(f"{self.name}: not ready at {url}{pending[0]} ({last})\n"
                                       f"{log_tail(self.log_path)}")
                try:
                    response = client.get(url + pending[0])
                    last = f"HTTP {response.status_code}"
                    if response.status_code == 200 and _is_expected(pending[0], response):
                        pending.pop(0)
                        continue
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.5)


def _is_expected(path: str, response: httpx.Response) -> bool:
    """`/` must be the built frontend (an HTML page), not a placeholder or an API answer."""
    if path.startswith("/api/"):
        return True
    return "text/html" in response.headers.get("content-type", "") and "<html" in response.text


NODE_HEADER = "X-Tutor-Node"
# After a node refuses a connection nginx leaves it out this long, then tries it again.
FAIL_TIMEOUT = 2


def render_nginx_conf(
    *, listen_port: int, node_ports: Sequence[int], prefix: Path, node_header: bool = True
) -> str:
    """`deploy/nginx.conf.template` for these ports, with everything nginx writes under
    `prefix`; with `node_header`, every answer names its node (`NODE_HEADER`: its address)."""
    servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;"
        for port in node_ports
    )
    values = {
        "PREFIX": str(prefix),
        "LISTEN": f"127.0.0.1:{listen_port}",
        "WORKER_PROCESSES": "1",
        "UPSTREAM_SERVERS": servers,
        "NODE_HEADER": f"add_header {NODE_HEADER} $upstream_addr always;" if node_header else "",
    }
    text = NGINX_TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        raise ValueError("nginx template: a placeholder was left unfilled")
    return text


def _prepare_nginx_prefix(prefix: Path) -> None:
    for sub in ("logs", "temp/client_body", "temp/proxy", "temp/fastcgi", "temp/uwsgi",
                "temp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # Started as root, nginx runs its workers as `nobody`: they must write the temp files.
        for temp in (prefix / "temp").iterdir():
            temp.chmod(0o1777)


@dataclass
class Cluster:
    """A running layout: the proxy at `url`, the nodes behind it at `node_urls`."""

    url: str
    node_urls: list[str]
    access_log: Path = field(repr=False)
    _nodes: list[_Group] = field(repr=False, default_factory=list)
    _proxy: _Group | None = field(repr=False, default=None)
    _work_lock: IO[bytes] | None = field(repr=False, default=None)
    _web_dir: Path | None = field(repr=False, default=None)
    _node_envs: list[dict[str, str]] = field(repr=False, default_factory=list)

    def node_pids(self) -> list[int]:
        """Every live process of every node: its `reflex run` leader and its workers."""
        return sorted(pid for node in self._nodes for pid in group_pids(node.proc.pid))

    def node_group_pids(self, index: int) -> list[int]:
        """Every live process of one node."""
        return group_pids(self._nodes[index].proc.pid)

    def kill_node(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to every process of node `index` (a crash, with SIGKILL)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._nodes[index].proc.pid, sig)

    def restart_node(self, index: int, timeout: float = 300) -> None:
        """Stop node `index` gracefully (SIGTERM, its workers finish what they serve) and start
        it again on the same port with the code now on disk, serving the existing frontend
        build; returns once it answers. nginx sends new requests to the other nodes meanwhile.
        """
        node = self._nodes[index]
        node.stop()
        _empty_dir(Path(self._node_envs[index]["PROMETHEUS_MULTIPROC_DIR"]))
        port = int(self.node_urls[index].rsplit(":", 1)[1])
        log_path = node.log_path.with_name(f"node-{index}.restarted.log")
        started = _Group.start(f"node {index}", _node_command(index, port, built=True),
                               self._node_envs[index], log_path)
        self._nodes[index] = started
        deadline = time.monotonic() + timeout
        started.wait_ready(self.node_urls[index], READY_PATHS, deadline)
        self._wait_in_rotation(index, deadline)

    def _wait_in_rotation(self, index: int, deadline: float) -> None:
        """Until the proxy sends requests to node `index` again: it left the node out for
        `FAIL_TIMEOUT` seconds after a refused connection, and restarting the next node before
        this one is back would leave no node to send anything to."""
        address = self.node_urls[index].removeprefix("http://")
        with httpx.Client(timeout=5.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    response = client.get(self.url + "/api/health")
                    if response.headers.get(NODE_HEADER) == address:
                        return
                if time.monotonic() > deadline:
                    raise ClusterError(f"node {index} is up but the proxy does not use it")
                time.sleep(0.1)

    def rolling_restart(self, timeout: float = 300) -> None:
        """Restart the nodes one after the other, each once the one before answers again."""
        for index in range(len(self._nodes)):
            self.restart_node(index, timeout)

    def stop(self) -> None:
        """Stop the proxy, then every node; release the shared web directory."""
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.stop()
        nodes, self._nodes = self._nodes, []
        for node in nodes:
            node.stop()
        lock, self._work_lock = self._work_lock, None
        if lock is not None and self._web_dir is not None:
            release_work_dirs(self._web_dir, lock)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _node_command(index: int, port: int, *, built: bool = False) -> list[str]:
    """Node 0 builds the frontend on its first start; every other start serves that build."""
    run = ["--frontend-port", str(port), "--backend-port", str(port), "--backend-host",
           "127.0.0.1", "--loglevel", "info"]
    if index == 0 and not built:
        return [str(REFLEX_BIN), "run", "--env", "prod", "--single-port", *run]
    return [sys.executable, "-m", "tutor_app.cluster", "serve-built", *run]


def start_cluster(
    *,
    nodes: int,
    workers: int,
    database_url: str,
    redis_url: str,
    port: int | None = None,
    env: Mapping[str, str] = {},  # read only
    log_dir: Path,
    timeout: float = 300,
) -> Cluster:
    """Start nginx on `port` (a free one by default) and `nodes` app nodes behind it.

    Node 0 builds the frontend first; the others then start together on that build. Returns
    when every node and the proxy answer; on failure stops what it started and raises
    ClusterError with the log's tail. The database must be migrated already.
    """
    if nodes < 1 or workers < 1:
        raise ValueError("a cluster needs at least one node of one worker")
    if not NGINX_BIN.exists():
        raise ClusterError(f"nginx is missing at {NGINX_BIN}: run `make proxy`")
    if not REFLEX_BIN.exists():
        raise ClusterError(f"{REFLEX_BIN} is missing: run `make setup`")
    deadline = time.monotonic() + timeout
    log_dir.mkdir(parents=True, exist_ok=True)
    proxy_port = port or free_port()
    url = f"http://localhost:{proxy_port}"
    ports = [free_port() for _ in range(nodes)]
    web_dir, states_dir, lock = claim_work_dirs("tutor-cluster")
    prefix = log_dir / "nginx"
    cluster = Cluster(url=url, node_urls=[f"http://127.0.0.1:{p}" for p in ports],
                      access_log=prefix / "logs" / "access.log", _work_lock=lock,
                      _web_dir=web_dir)
    try:
        base_env = {
            **os.environ,
            **offline_env(),
            "REFLEX_WEB_WORKDIR": str(web_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "GRANIAN_WORKERS": str(workers),
            "APP_URL": url,
            # The built pages open their websocket at the proxy, not at node 0's own port.
            "REFLEX_API_URL": url,
            # Only nginx reaches a node (loopback): take the client's address from its header.
            "TRUSTED_PROXY_HOPS": "1",
            **env,
        }
        for index, node_port in enumerate(ports):
            node_states = states_dir / f"node-{index}"
            node_states.mkdir(parents=True, exist_ok=True)
            # Each node's workers add up their metrics in a directory of the node's own,
            # emptied before every start (docs/operations.md, multiprocess mode).
            metrics_dir = log_dir / f"metrics-node-{index}"
            _empty_dir(metrics_dir)
            node_env = {**base_env, "REFLEX_STATES_WORKDIR": str(node_states),
                        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
            cluster._node_envs.append(node_env)
            cluster._nodes.append(_Group.start(
                f"node {index}", _node_command(index, node_port), node_env,
                log_dir / f"node-{index}.log",
            ))
            if index == 0:  # the others serve its build: wait until it is there
                cluster._nodes[0].wait_ready(cluster.node_urls[0], READY_PATHS, deadline)
        for node, node_url in zip(cluster._nodes[1:], cluster.node_urls[1:], strict=True):
            node.wait_ready(node_url, READY_PATHS, deadline)

        _prepare_nginx_prefix(prefix)
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx_conf(listen_port=proxy_port, node_ports=ports,
                                          prefix=prefix))
        cluster._proxy = _Group.start(
            "nginx",
            [str(NGINX_BIN), "-p", str(prefix), "-e", str(prefix / "logs" / "error.log"),
             "-c", str(conf)],
            base_env,
            log_dir / "nginx.log",
        )
        cluster._proxy.wait_ready(url, ("/api/health",), deadline)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def serve_built(reflex_args: Sequence[str]) -> None:
    """`reflex run --env prod --single-port` on a web directory another node has built:
    the same run with its compile and frontend build steps left out."""
    from reflex import reflex as reflex_cli
    from reflex.utils import build

    def skip(*_: object, **__: object) -> None:
        return None

    reflex_cli._compile_app = skip
    build.setup_frontend_prod = skip
    reflex_cli.cli(["run", "--env", "prod", "--single-port", *reflex_args])


def _migrate(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([sys.executable, "-m", "tutor_app.cli", "prestart"], cwd=PROJECT_ROOT,
                   env=env, check=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve-built"]:
        serve_built(args[1:])
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m tutor_app.cluster",
        description="Several app nodes behind nginx on loopback, until Ctrl-C.")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="Granian workers per node")
    parser.add_argument("--port", type=int, default=8080, help="the proxy's port")
    parser.add_argument("--log-dir", type=Path, default=PROJECT_ROOT / "var" / "cluster")
    options = parser.parse_args(args)
    from tutor_app.core.settings import get_settings  # the environment, or `.env`

    settings = get_settings()
    database_url, redis_url = settings.database_url, settings.redis_url or ""
    if not database_url.startswith("postgresql"):
        parser.error("DATABASE_URL must be a postgresql:// URL: every node shares it")
    if not redis_url:
        parser.error("REDIS_URL must be set: every node keeps its page state there")
    _migrate(database_url)
    cluster = start_cluster(nodes=options.nodes, workers=options.workers,
                            database_url=database_url, redis_url=redis_url, port=options.port,
                            log_dir=options.log_dir)
    answer = (f"Tutorly: {cluster.url} ({options.nodes} nodes x {options.workers} workers: "
              f"{', '.join(cluster.node_urls)}); logs in {options.log_dir}. Ctrl-C stops it.")
    print(answer, flush=True)  # noqa: T201 (the command's answer)
    stopping = restarting = False

    def on_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    def on_hangup(*_: object) -> None:
        nonlocal restarting
        restarting = True

    signal.signal(signal.SIGTERM, on_stop)
    # Ctrl-C, also when started where SIGINT was ignored (a background job of a script).
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hangup)  # `kill -HUP <pid>`: a rolling restart
    try:
        while not stopping:
            if restarting:
                restarting = False
                print("rolling restart: one node after the other", flush=True)  # noqa: T201
                cluster.rolling_restart()
                print("rolling restart: done", flush=True)  # noqa: T201
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the cluster", flush=True)  # noqa: T201
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
