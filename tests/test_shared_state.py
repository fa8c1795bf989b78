"""State shared by replicas and the address behind a proxy, with real parts: two server processes
counting one rate limit in a real Redis (Debian's ``redis-server``, started here), and
X-Forwarded-For believed only from a trusted proxy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import copy_default_documents
from services import assistant_process, redis_server
from test_live_server import _free_port, _wait_healthy

from assistant.config import Settings
from assistant.embed.base import Embedder
from assistant.errors import ConfigError
from assistant.index.factory import build_from_settings
from assistant.web.ratelimit import ClientRateLimiter

QUESTION = {"question": "When did the Jokeri light rail open?"}


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real Redis on a free loopback port, nothing saved to disk."""
    with redis_server() as url:
        yield url


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
    process = assistant_process(
        ["--documents", str(docs), "--index", str(index)],
        *["serve", "--port", str(port), "--no-watch"],
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **variables},
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


BEES = """---
title: Rooftop beehives at Espoo city hall
date: 2026-05-01
---

# Rooftop beehives at Espoo city hall

The city hall roof in Espoo hosts twelve beehives that produced forty kilos of honey in 2026.
"""


@pytest.mark.slow
@pytest.mark.server
def test_a_replica_follows_what_the_builder_publishes(tmp_path: Path, embedder: Embedder) -> None:
    docs = copy_default_documents(tmp_path / "docs", "jokeri-light-rail.md")
    index = tmp_path / "index"
    build_from_settings(Settings(documents=docs, index=index), embedder=embedder)
    env = {**os.environ, "ASSISTANT_WATCH_DEBOUNCE_MS": "300", "ASSISTANT_ADMIN_TOKEN": "t"}
    paths = ["--documents", str(docs), "--index", str(index)]
    builder = assistant_process(paths, "build", "--watch", env=env)
    port = _free_port()
    replica = assistant_process(paths, "serve", "--port", str(port), "--follow", env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        first = _wait_healthy(base, replica)["index_version"]
        time.sleep(2)  # the builder is watching
        (docs / "bees.md").write_text(BEES, encoding="utf-8")
        question = {"question": "How many beehives are on the roof of the Espoo city hall?"}

        def cites_bees() -> bool:
            answer = httpx.post(f"{base}/api/ask", json=question, timeout=60).json()
            return any(c["document"] == "bees.md" for c in answer["citations"])

        deadline = time.monotonic() + 120
        while not cites_bees():
            assert time.monotonic() < deadline, "the replica never served the builder's version"
            time.sleep(0.5)
        health = httpx.get(f"{base}/api/health").json()
        assert health["index_version"] != first and health["follow"]["swaps"] >= 1
        # a replica takes a document change by saving it in the shared folder: the builder
        # publishes it, and the replica swaps to that version
        put = httpx.put(
            f"{base}/api/admin/documents/x.md",
            content=b"# Moss roofs\n\nEspoo's bus shelters got moss roofs in the spring of 2026.",
            headers={"Authorization": "Bearer t"},
        )
        assert put.status_code == 202, put.text
        assert put.json()["build"] is None and put.json()["published_by"] == "builder"
        assert (docs / "x.md").is_file()
        moss = {"question": "What did the bus shelters in Espoo get on their roofs?"}

        def cites_moss() -> bool:
            answer = httpx.post(f"{base}/api/ask", json=moss, timeout=60).json()
            return any(c["document"] == "x.md" for c in answer["citations"])

        while not cites_moss():
            assert time.monotonic() < deadline + 120, "the upload never reached the replica"
            time.sleep(0.5)
        reindex = httpx.post(f"{base}/api/admin/reindex", headers={"Authorization": "Bearer t"})
        assert reindex.status_code == 409  # a replica runs no builds of its own
    finally:
        for process in (replica, builder):
            process.kill()
            process.wait(timeout=30)


def test_a_replica_without_an_index_says_to_start_the_builder(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--documents", str(tmp_path / "docs")]
        + ["--index", str(tmp_path / "index"), "serve", "--follow", "--port", str(_free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "build --watch" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "index").exists() or not any((tmp_path / "index").glob("v-*"))
