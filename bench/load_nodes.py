"""The app's layouts for the load benchmark: nodes x workers behind nginx, one PostgreSQL and
one Redis, started by `tutor_app.cluster.start_cluster` (what `make cluster` runs).

Every layout, one node included, is reached through the proxy, so the layouts differ only in
their nodes and workers. The nodes trust the proxy's `X-Forwarded-For` (`TRUSTED_PROXY_HOPS=1`),
so each simulated student, connecting from a loopback address of its own, has its own rate
limits, as real visitors behind a proxy do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tutor_app.cluster import Cluster, start_cluster

# What a developer's environment must not hand the benchmark's nodes (real Stripe keys, their
# catalog): the nodes run in local-dev mode. The cluster sets the database, Redis, workers and
# APP_URL itself.
DROPPED_ENV = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "SECRET_KEY",
               "CATALOG_FILE")


def start_layout(*, nodes: int, workers: int, database_url: str, redis_url: str,
                 env: Mapping[str, str] | None = None, log_dir: Path,
                 timeout: float = 300) -> Cluster:
    """`nodes` nodes of `workers` workers behind nginx, in local-dev mode (the dev checkout)."""
    return start_cluster(
        nodes=nodes, workers=workers, database_url=database_url, redis_url=redis_url,
        env={**{name: "" for name in DROPPED_ENV}, "APP_ENV": "dev", "ENV_FILE": "",
             "OUTBOX_DIR": str(log_dir / "outbox"), **dict(env or {})},
        log_dir=log_dir, timeout=timeout,
    )
