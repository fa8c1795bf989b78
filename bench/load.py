"""Load check: 1, 8 and 32 concurrent clients against a real server on loopback, idle and while a
rebuild runs. Prints a table (``--json`` for JSON); never run as a test.

    python bench/load.py                 # starts its own server on a copy of documents/
    python bench/load.py --requests 10   # requests per client (default 20)
    python bench/load.py --nginx         # through the shipped nginx configuration: one replica,
                                         # one replica on one core, two replicas (Redis limits)

Only 127.0.0.1 is ever contacted. Each run is bounded by --requests per client.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "load-bench-token"
QUESTIONS = [
    "When will Espoo be carbon neutral?",
    "when does the coal plant close",
    "how long is the jokeri light rail",
    "What is the Espoo Story?",
    "where does espoo's waste go",
    "How many nature reserves does Espoo have?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_clients(base: str, clients: int, requests: int) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def client(n: int) -> None:
        nonlocal failures
        with httpx.Client(timeout=120) as http:
            for i in range(requests):
                started = time.perf_counter()
                r = http.post(f"{base}/api/ask", json={"question": QUESTIONS[(n + i) % 6]})
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    failures += r.status_code != 200

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "failed": failures,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(_percentile(latencies, 95), 1),
        "p99_ms": round(_percentile(latencies, 99), 1),
    }


def _wait_healthy(base: str) -> None:
    """Until the server answers and its chat page is built (building it takes both cores for a
    few seconds after the API is up, which would be measured as load)."""
    for _ in range(480):
        try:
            health = httpx.get(f"{base}/api/health", timeout=2)
            if health.status_code == 200 and health.json().get("chat") in ("ready", "failed"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{base} never became healthy")


def through_nginx(requests: int) -> list[dict[str, object]]:
    """Answers/s through nginx (deploy/nginx/assistant.conf) in front of ``serve --follow``
    replicas sharing one index, one Redis rate limit and one PostgreSQL question log: one
    replica, the same pinned to one core (answers/s per core, for sizing) and two replicas."""
    sys.path.insert(0, str(ROOT / "tests"))
    from services import nginx_server, postgres_server, redis_server

    work = Path(tempfile.mkdtemp(prefix="load-nginx-"))
    docs = work / "documents"
    shutil.copytree(ROOT / "documents", docs)
    cli = [sys.executable, "-m", "assistant", f"--documents={docs}", f"--index={work / 'index'}"]
    subprocess.run([*cli, "build"], check=True, capture_output=True)
    rows: list[dict[str, object]] = []
    cores = sorted(os.sched_getaffinity(0))
    setups = [
        ("1 replica", 1, cores),
        ("1 replica, 1 core", 1, cores[:1]),
        ("2 replicas", 2, cores),
    ]
    try:
        with redis_server() as redis_url, postgres_server() as database_url:
            env = dict(
                os.environ,
                ASSISTANT_RATE_LIMIT="1000000/minute",
                ASSISTANT_RATE_LIMIT_STORAGE=redis_url,
                ASSISTANT_DATABASE_URL=database_url,
                ASSISTANT_TRUSTED_PROXIES="127.0.0.1",
                ASSISTANT_LOG_DAYS="30",
            )
            for name, count, allowed in setups:
                ports = [_free_port() for _ in range(count)]
                replicas = [
                    subprocess.Popen(
                        [*cli, "serve", "--follow", "--port", str(port)],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        preexec_fn=lambda allowed=allowed: os.sched_setaffinity(0, allowed),
                    )
                    for port in ports
                ]
                try:
                    for port in ports:
                        _wait_healthy(f"http://127.0.0.1:{port}")
                    # nginx names each upstream twice when there is one replica
                    upstreams = ports * 2 if count == 1 else ports
                    with nginx_server(work / f"nginx-{count}-{len(allowed)}", upstreams) as base:
                        run_clients(base, 2, 3)  # warm-up
                        for clients in (8, 32):
                            result = run_clients(base, clients, requests)
                            rows.append({"while": name, "cores": len(allowed), **result})
                finally:
                    for replica in replicas:
                        replica.terminate()
                        replica.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--nginx", action="store_true", help="replicas behind nginx (see above)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.nginx:
        _print(through_nginx(args.requests), args.json)
        return

    work = Path(tempfile.mkdtemp(prefix="load-bench-"))
    docs = work / "documents"
    shutil.copytree(ROOT / "documents", docs)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ASSISTANT_ADMIN_TOKEN=TOKEN, ASSISTANT_RATE_LIMIT="1000000/minute")
    cli = [sys.executable, "-m", "assistant", f"--documents={docs}", f"--index={work / 'index'}"]
    subprocess.run([*cli, "build"], check=True, env=env, capture_output=True)
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--no-watch"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        _wait_healthy(base)
        run_clients(base, 2, 3)  # warm-up
        for clients in (1, 8, 32):
            rows.append({"while": "idle", **run_clients(base, clients, args.requests)})
        for clients in (1, 8, 32):
            # A full rebuild re-embeds the whole corpus: the heaviest work the server does.
            httpx.post(
                f"{base}/api/admin/reindex?full=true", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            time.sleep(0.5)
            building = httpx.get(f"{base}/api/health").json()["build"]["building"]
            rows.append(
                {
                    "while": "rebuild",
                    "rebuild_running_at_start": building,
                    **run_clients(base, clients, args.requests),
                }
            )
            while httpx.get(f"{base}/api/health").json()["build"]["building"]:
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    _print(rows, args.json)


def _print(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'while':<18} {'clients':>7} {'requests':>8} {'failed':>6} {'req/s':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    )
    for r in rows:
        print(
            f"{r['while']:<18} {r['clients']:>7} {r['requests']:>8} {r['failed']:>6} "
            f"{r['rps']:>6} {r['p50_ms']:>7} {r['p95_ms']:>7} {r['p99_ms']:>7}"
        )


if __name__ == "__main__":
    main()
