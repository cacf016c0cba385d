"""The reverse proxy's config as `tutor_app.cluster` renders it from deploy/nginx.conf.template."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tutor_app.cluster import NGINX_BIN, NODE_HEADER, _prepare_nginx_prefix, render_nginx_conf


def _location(conf: str, head: str) -> str:
    start = conf.index(head)
    return conf[start : conf.index("}", start)]


def test_the_rendered_config_passes_nginx_own_check(tmp_path: Path) -> None:
    _prepare_nginx_prefix(tmp_path)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(listen_port=18080, node_ports=[18081, 18082],
                                      prefix=tmp_path))
    check = subprocess.run(
        [str(NGINX_BIN), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "logs/error.log"),
         "-c", str(conf)], capture_output=True, text=True, check=False,
    )
    assert check.returncode == 0, check.stderr
    assert "test is successful" in check.stderr


def test_every_node_is_an_upstream_and_no_post_is_ever_retried(tmp_path: Path) -> None:
    conf = render_nginx_conf(listen_port=18080, node_ports=[18081, 18082, 18083],
                             prefix=tmp_path)
    assert re.findall(r"server 127\.0\.0\.1:(\d+)", conf) == ["18081", "18082", "18083"]
    assert "listen 127.0.0.1:18080;" in conf
    retries = [line.strip() for line in conf.splitlines()
               if line.strip().startswith("proxy_next_upstream ")]
    # Without `non_idempotent`, nginx never retries a POST, PATCH or LOCK on another node.
    assert retries and not any("non_idempotent" in line for line in retries)
    assert "proxy_next_upstream off;" in _location(conf, "location = /api/stripe/webhook")
    websocket = _location(conf, "location /_event")
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in websocket
    assert str(tmp_path / "logs" / "access.log") in conf


def test_the_node_header_is_left_out_when_asked(tmp_path: Path) -> None:
    named = render_nginx_conf(listen_port=1, node_ports=[2], prefix=tmp_path)
    plain = render_nginx_conf(listen_port=1, node_ports=[2], prefix=tmp_path, node_header=False)
    assert f"add_header {NODE_HEADER} $upstream_addr always;" in named
    assert "add_header" not in plain
