"""State shared by replicas and the address behind a proxy, with real parts: two server processes
counting one rate limit in a real Redis (Debian's ``redis-server``, started here), and
X-Forwarded-For believed only from a trusted proxy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import copy_default_documents
from test_live_server import _free_port, _wait_healthy

from assistant.config import Settings
from assistant.embed.base import Embedder
from assistant.errors import ConfigError
from assistant.index.factory import build_from_settings
from assistant.web.api import ClientRateLimiter

QUESTION = {"question": "When did the Jokeri light rail open?"}


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real Redis on a free loopback port, nothing saved to disk."""
    server = shutil.which("redis-server")
    assert server, "redis-server is missing: `make test` installs it (scripts/system-deps.sh)"
    port = _free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def corpus(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("replicas")
    docs = copy_default_documents(root / "docs", "jokeri-light-rail.md", "city-bikes.md")
    build_from_settings(Settings(documents=docs, index=root / "index"), embedder=embedder)
    return docs, root / "index"


def serve(corpus: tuple[Path, Path], **env: str) -> tuple[str, subprocess.Popen[bytes]]:
    """``espoo-assistant serve`` (a replica that does not build) with ``ASSISTANT_*`` ``env``."""
    docs, index = corpus
    port = _free_port()
    variables = {f"ASSISTANT_{k.upper()}": v for k, v in env.items()}
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "--documents", str(docs), "--index", str(index)]
        + ["serve", "--port", str(port), "--no-watch"],
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **variables},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_healthy(base, process)
    return base, process


def ask(base: str, forwarded_for: str = "") -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(f"{base}/api/ask", json=QUESTION, headers=headers, timeout=60).status_code


@pytest.mark.slow
@pytest.mark.server
def test_two_replicas_count_one_rate_limit_in_redis(
    corpus: tuple[Path, Path], redis_url: str
) -> None:
    replicas = [serve(corpus, rate_limit="3/minute", rate_limit_storage=redis_url) for _ in "ab"]
    try:
        (a, _), (b, _) = replicas
        assert [ask(a), ask(b), ask(a)] == [200, 200, 200]
        assert ask(b) == 429  # over the limit on the replica it had not used up
        assert ask(a) == 429
    finally:
        for _, process in replicas:
            process.kill()
            process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.server
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(corpus: tuple[Path, Path]) -> None:
    behind, trusting = serve(corpus, rate_limit="2/minute", trusted_proxies="127.0.0.1")
    direct, plain = serve(corpus, rate_limit="2/minute")
    try:
        # behind a trusted proxy: each resident has their own budget
        assert [ask(behind, "203.0.113.7"), ask(behind, "203.0.113.7")] == [200, 200]
        assert ask(behind, "203.0.113.7") == 429
        assert ask(behind, "198.51.100.4") == 200
        # no trusted proxy: the header is the client's own claim and changes nothing
        assert [ask(direct, "203.0.113.7"), ask(direct, "198.51.100.4")] == [200, 200]
        assert ask(direct, "192.0.2.1") == 429
    finally:
        for process in (trusting, plain):
            process.kill()
            process.wait(timeout=30)


def test_a_rate_limit_storage_that_cannot_be_used_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_RATE_LIMIT_STORAGE='nowhere://x'"):
        ClientRateLimiter("30/minute", "nowhere://x")
    with pytest.raises(ConfigError, match="does not answer"):
        ClientRateLimiter("30/minute", f"redis://127.0.0.1:{_free_port()}")
    assert ClientRateLimiter("1/minute").retry_after("a") is None
