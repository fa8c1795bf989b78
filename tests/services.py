"""Real servers for the tests, from Debian's packages (installed by ``scripts/system-deps.sh``):
Redis, PostgreSQL and nginx, each on a free loopback port, in a folder of its own, stopped after.

As root (CI), PostgreSQL runs as the ``postgres`` user its package creates: it refuses root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX = "/usr/sbin/nginx"
SHIPPED_NGINX = ROOT / "deploy" / "nginx" / "assistant.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assistant_process(
    paths: list[str], *command: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """``python -m assistant PATHS COMMAND...`` (a builder, a replica) in the background, quiet."""
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", *paths, *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(ready: object, what: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():  # type: ignore[operator]
        assert process.poll() is None, f"{what} exited with {process.returncode}"
        assert time.monotonic() < deadline, f"{what} did not start in {seconds:.0f} s"
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis on a free port, nothing saved to disk: its ``redis://`` URL."""
    import redis

    server = shutil.which("redis-server")
    assert server, "redis-server is missing: `make test` installs it (scripts/system-deps.sh)"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)

    def ready() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        _wait(ready, "redis-server", process)
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(process)


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "PostgreSQL is missing: `make test` installs it (scripts/system-deps.sh)"
    return Path(found[-1]).parent


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on a free port (trust auth on loopback, no fsync): the
    ``postgresql+psycopg://`` URL of an empty database in it."""
    import psycopg

    bindir = _postgres_bin()
    home = Path(tempfile.mkdtemp(prefix="espoo-pg-"))
    user: str | None = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = "postgres"
        owner = pwd.getpwnam(user)
        home.chmod(0o755)
        os.chown(home, owner.pw_uid, owner.pw_gid)
    data, port = home / "data", free_port()
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "assistant", "--auth=trust", "-E", "UTF8"]
        + ["--no-sync", "--no-instructions"],
        check=True,
        capture_output=True,
        user=user,
    )
    process = subprocess.Popen(
        [bindir / "postgres", "-D", data, "-p", str(port), "-k", home]
        + ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=user,
    )
    server = f"host=127.0.0.1 port={port} user=assistant"

    def ready() -> bool:
        try:
            with psycopg.connect(f"{server} dbname=postgres", connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    try:
        _wait(ready, "postgres", process)
        with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE assistant")
        yield f"postgresql+psycopg://assistant@127.0.0.1:{port}/assistant"
    finally:
        _stop(process)
        shutil.rmtree(home, ignore_errors=True)


def nginx_config(folder: Path, port: int, upstreams: list[int]) -> Path:
    """The shipped ``deploy/nginx/assistant.conf`` with this machine's ports: its upstream
    servers ``replica-N:8000`` become ``127.0.0.1:<upstreams[N-1]>`` and it listens on ``port``;
    wrapped in the few main-context lines a non-system nginx needs."""
    shipped = SHIPPED_NGINX.read_text(encoding="utf-8")
    for n, upstream in enumerate(upstreams, start=1):
        assert f"replica-{n}:8000" in shipped, f"no upstream replica-{n} in {SHIPPED_NGINX}"
        shipped = shipped.replace(f"replica-{n}:8000", f"127.0.0.1:{upstream}")
    assert "listen 8080;" in shipped
    shipped = shipped.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (folder / "assistant.conf").write_text(shipped, encoding="utf-8")
    temp = {name: folder / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""  # workers read and write this folder
    main = f"""
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$remote_addr $status "$request" [$upstream_addr] [$upstream_status]';
    access_log {folder}/access.log upstreams;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder}/assistant.conf;
}}
"""
    (folder / "nginx.conf").write_text(main, encoding="utf-8")
    return folder / "nginx.conf"


@contextmanager
def nginx_server(folder: Path, upstreams: list[int]) -> Iterator[str]:
    """nginx with the shipped configuration in front of the replicas on ``upstreams``: its URL."""
    assert Path(NGINX).exists(), "nginx is missing: `make test` installs it (system-deps.sh)"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = nginx_config(folder, port, upstreams)
    check = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-e", "stderr", "-c", str(config)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-e", "stderr", "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def ready() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        _wait(ready, "nginx", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)
