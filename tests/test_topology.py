"""The several-machines topology, on one machine, with real parts only: one builder
(``build --watch``) and two replicas (``serve --follow``) behind the shipped nginx configuration
(``deploy/nginx/assistant.conf``), sharing one index folder, a Redis (rate limits) and a
PostgreSQL (feedback and the question log), all of them Debian's servers started here.

Eight residents, each from an address of their own, ask all along while a document is added and
while one replica is killed with ``kill -9`` and restarted: not one of their requests may fail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import copy_default_documents
from playwright.sync_api import Page, expect
from services import assistant_process, free_port, nginx_server, postgres_server, redis_server
from test_live_server import _wait_healthy
from web_fixtures import BROWSER_TIMEOUT, sse_events

from assistant.config import Settings
from assistant.embed.base import Embedder
from assistant.index.factory import build_from_settings

TOKEN = "topology-token"
#: Per resident, counted in Redis across both replicas.
LIMIT = 30
QUESTIONS = [
    "When did the Jokeri light rail start running?",
    "Milloin Jokeri-pikaraitiotie aloitti liikennöinnin?",
    "How many city bikes does Espoo have?",
    "Hur många stadscyklar finns det i Esbo?",
]
BEES = """---
title: Rooftop beehives at Espoo city hall
date: 2026-05-01
---

# Rooftop beehives at Espoo city hall

The city hall roof in Espoo hosts twelve beehives that produced forty kilos of honey in 2026.
"""
BEES_QUESTION = {"question": "How many beehives are on the roof of the Espoo city hall?"}


@dataclass
class Topology:
    docs: Path
    nginx: str
    nginx_log: Path
    ports: list[int]
    env: dict[str, str]
    paths: list[str]
    replicas: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def replica_url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n]}"

    def start_replica(self, n: int) -> subprocess.Popen[bytes]:
        address = ["--host", "127.0.0.1", "--port", str(self.ports[n])]
        process = assistant_process(self.paths, "serve", "--follow", *address, env=self.env)
        _wait_healthy(self.replica_url(n), process, timeout=180)
        return process


@pytest.fixture(scope="module")
def topology(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("topology")
    docs = copy_default_documents(root / "docs", "jokeri-light-rail.md", "city-bikes.md")
    index = root / "index"
    build_from_settings(Settings(documents=docs, index=index), embedder=embedder)
    with redis_server() as redis_url, postgres_server() as database_url:
        env = {
            **os.environ,
            "GRADIO_ANALYTICS_ENABLED": "False",
            "ASSISTANT_RATE_LIMIT": f"{LIMIT}/minute",
            "ASSISTANT_RATE_LIMIT_STORAGE": redis_url,
            "ASSISTANT_DATABASE_URL": database_url,
            "ASSISTANT_TRUSTED_PROXIES": "127.0.0.1",
            "ASSISTANT_ADMIN_TOKEN": TOKEN,
            "ASSISTANT_WATCH_DEBOUNCE_MS": "300",
        }
        paths = ["--documents", str(docs), "--index", str(index)]
        builder = assistant_process(paths, "build", "--watch", env=env)
        ports = [free_port(), free_port()]
        with nginx_server(root / "nginx", ports) as nginx:
            top = Topology(docs, nginx, root / "nginx" / "access.log", ports, env, paths)
            try:
                top.replicas = [top.start_replica(0), top.start_replica(1)]
                yield top
            finally:
                for process in [*top.replicas, builder]:
                    process.kill()
                    process.wait(timeout=30)


@dataclass
class Residents:
    """Eight residents asking through nginx all along, each from a loopback address of its own
    (127.0.0.11-18), a question every ``pause`` seconds: below the rate limit. Like the widget,
    a resident whose connection breaks mid-answer asks once more."""

    nginx: str
    pause: float = 2.5
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for n in range(8):
            thread = threading.Thread(target=self._ask, args=(n,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def _ask(self, n: int) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.0.{11 + n}")
        with httpx.Client(transport=transport, timeout=60) as client:
            i = n
            while not self._stop.is_set():
                question = {"question": QUESTIONS[i % len(QUESTIONS)]}
                i += 1
                try:
                    try:
                        response = client.post(f"{self.nginx}/api/ask", json=question)
                    except httpx.TransportError:
                        # a replica killed between writing an answer's headers and its body: as
                        # the widget does (embed.js), ask once more; a second break is a failure
                        self.statuses["asked again"] += 1
                        response = client.post(f"{self.nginx}/api/ask", json=question)
                    self.statuses[str(response.status_code)] += 1
                    if response.status_code != 200 or not response.json()["answer"]:
                        self.failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    self.statuses["error"] += 1
                    self.failures.append(repr(exc))
                self._stop.wait(self.pause)


def cites_bees(base: str) -> bool:
    answer = httpx.post(f"{base}/api/ask", json=BEES_QUESTION, timeout=60).json()
    return any(c["document"] == "bees.md" for c in answer.get("citations", []))


def wait_until(predicate: object, what: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def both_in_rotation(topology: Topology) -> None:
    """Until nginx sends requests to both replicas again (after a replica died, nginx leaves it
    out for its fail_timeout and then tries it anew)."""
    wanted = {f"127.0.0.1:{p}" for p in topology.ports}

    def both() -> bool:
        start = len(upstreams(topology.nginx_log))
        for _ in range(4):  # health is not rate-limited
            httpx.get(f"{topology.nginx}/api/health", timeout=30)
        served = {t.split(",")[-1].strip() for t in upstreams(topology.nginx_log)[start:]}
        return wanted <= served

    wait_until(both, "nginx never sent requests to both replicas", seconds=60)


def upstreams(log: Path) -> list[str]:
    """Per request nginx logged, the replica addresses it tried (several when it retried)."""
    return re.findall(r"\[([^\]]*)\] \[[^\]]*\]$", log.read_text(), flags=re.MULTILINE)


@pytest.mark.slow
@pytest.mark.server
def test_residents_never_see_a_failure_while_documents_change_and_a_replica_dies(
    topology: Topology,
) -> None:
    residents = Residents(topology.nginx)
    residents.start()
    try:
        time.sleep(3)
        (topology.docs / "bees.md").write_text(BEES, encoding="utf-8")
        for n in (0, 1):  # the builder publishes; each replica swaps to the new version
            wait_until(
                lambda n=n: cites_bees(topology.replica_url(n)),  # type: ignore[misc]
                f"replica {n + 1} never answered from the new document",
            )
        assert cites_bees(topology.nginx)

        before = len(upstreams(topology.nginx_log))
        topology.replicas[0].send_signal(signal.SIGKILL)
        topology.replicas[0].wait(timeout=30)
        time.sleep(6)  # the residents go on asking: nginx sends them to the other replica
        topology.replicas[0] = topology.start_replica(0)
        assert cites_bees(topology.replica_url(0))  # it came back on the newest version
        time.sleep(3)
    finally:
        residents.stop()

    assert residents.failures == [], residents.failures[:5]
    assert residents.statuses["200"] >= 8 * 4, residents.statuses  # all along, every one
    tried = upstreams(topology.nginx_log)[before:]
    dead = f"127.0.0.1:{topology.ports[0]}"
    # nginx did meet the dead replica, and sent those requests on to the live one
    assert any(t.startswith(dead) and "," in t for t in tried), tried[:20]


@pytest.mark.slow
@pytest.mark.server
def test_one_rate_limit_counts_a_resident_across_both_replicas(topology: Topology) -> None:
    both_in_rotation(topology)
    transport = httpx.HTTPTransport(local_address="127.0.0.250")
    with httpx.Client(transport=transport, timeout=60) as client:
        before = len(upstreams(topology.nginx_log))
        codes = Counter(
            client.post(f"{topology.nginx}/api/ask", json={"question": QUESTIONS[0]}).status_code
            for _ in range(LIMIT + 20)
        )
    assert codes == {200: LIMIT, 429: 20}, codes
    # the requests were spread over both replicas, yet counted together
    served = Counter(t.split(",")[-1].strip() for t in upstreams(topology.nginx_log)[before:])
    assert {f"127.0.0.1:{p}" for p in topology.ports} <= set(served), served
    # another resident, behind the same proxy, still has a budget of their own
    other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.251"))
    with other:
        assert other.post(f"{topology.nginx}/api/ask", json={"question": QUESTIONS[1]}).is_success


@pytest.mark.slow
@pytest.mark.server
def test_feedback_given_through_one_replica_is_read_through_the_other(
    topology: Topology,
) -> None:
    one, two = topology.replica_url(0), topology.replica_url(1)
    jokeri = {"question": QUESTIONS[0]}
    answer = httpx.post(f"{one}/api/ask", json=jokeri, timeout=60).json()
    given = {
        "question": QUESTIONS[0],
        "answer": answer["answer"],
        "citations": answer["citations"],
        "rating": "up",
        "comment": "Hyvä vastaus, kiitos",
        "index_version": answer.get("index_version", ""),
    }
    assert httpx.post(f"{one}/api/feedback", json=given, timeout=30).status_code == 201
    auth = {"Authorization": f"Bearer {TOKEN}"}
    rows = httpx.get(f"{two}/api/admin/feedback", headers=auth, timeout=30).json()["feedback"]
    assert [r["comment"] for r in rows] == ["Hyvä vastaus, kiitos"]
    assert rows[0]["citations"][0]["document"] == "jokeri-light-rail.md"
    # the question log, too, is one for both: what one replica was asked shows on each
    asked = "Which stations does the Jokeri light rail serve in Espoo?"
    assert httpx.post(f"{two}/api/ask", json={"question": asked}, timeout=60).is_success
    for base in (one, two):
        logged = httpx.get(f"{base}/api/admin/questions", headers=auth, timeout=30).json()
        assert {QUESTIONS[0], asked} <= {q["question"] for q in logged["questions"]}


@pytest.mark.slow
@pytest.mark.server
def test_the_answer_stream_passes_through_nginx_as_events(topology: Topology) -> None:
    with httpx.stream(
        "POST", f"{topology.nginx}/api/ask/stream", json={"question": QUESTIONS[0]}, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        response.read()
        events = sse_events(response)
    kind, done = events[-1]
    assert kind == "done" and done["answer"] and not done["refused"]
    assert any(c["document"] == "jokeri-light-rail.md" for c in done["citations"])


class Drip(BaseHTTPRequestHandler):
    """An upstream that sends three events 0.4 s apart, without asking nginx not to buffer
    (the app sends ``X-Accel-Buffering: no``; this tests the configuration itself)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in range(3):
            event = f"event: delta\ndata: {n}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
            time.sleep(0.4)
        self.wfile.write(b"0\r\n\r\n")


def arrivals(url: str) -> list[float]:
    """When each event of the stream at ``url`` reached the client, in seconds from the first."""
    times: list[float] = []
    with httpx.stream("POST", url, json={"question": "?"}, timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                times.append(time.monotonic())
    return [t - times[0] for t in times]


@pytest.mark.server
def test_the_shipped_nginx_passes_event_streams_unbuffered(tmp_path: Path) -> None:
    Drip.protocol_version = "HTTP/1.1"
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = upstream.server_address[1]
    try:
        with nginx_server(tmp_path / "nginx", [int(port), int(port)]) as nginx:
            streamed = arrivals(f"{nginx}/api/ask/stream")
    finally:
        upstream.shutdown()
    # each event as it came, not all three at the end
    assert len(streamed) == 3 and 0.3 < streamed[1] and 0.6 < streamed[2]


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_the_chat_works_through_nginx_with_two_replicas(topology: Topology, page: Page) -> None:
    """The Gradio chat keeps its queue in one replica: nginx must send a visitor's requests to
    the same one (the sticky upstream), or the answer never arrives."""
    for n in (0, 1):
        wait_until(
            lambda n=n: (
                httpx.get(f"{topology.replica_url(n)}/api/health").json().get("chat") == "ready"
            ),  # type: ignore[misc]
            f"replica {n + 1}'s chat never started",
        )
    page.goto(topology.nginx)
    # each request finds its queue; the next question waits for the whole answer (a streaming
    # one is an .esa-answer too: asked earlier, the second question was never joined to the queue)
    answered = page.locator(".esa-answer:not(.esa-partial)")
    for turn, question in enumerate(QUESTIONS[:2], start=1):
        box = page.get_by_label("Your question")
        box.fill(question)
        box.press("Enter")
        expect(answered).to_have_count(turn, timeout=BROWSER_TIMEOUT)
    expect(page.locator(".esa-card").first).to_contain_text("Jokeri")


TRAMS = """---
title: Night trams to Otaniemi
date: 2026-06-01
---

# Night trams to Otaniemi

A pilot runs night trams to Otaniemi on Fridays, with departures every forty minutes.
"""


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_an_editor_adds_a_document_through_nginx_and_a_replica(
    topology: Topology, page: Page, tmp_path: Path
) -> None:
    """The console is served by a replica: it saves the file in the shared documents folder, the
    builder publishes, and the console waits for the new index version."""
    page.goto(f"{topology.nginx}/admin")
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    table = page.get_by_role("table", name="Documents")
    expect(table).to_contain_text("In use")
    upload = tmp_path / "night-trams.md"
    upload.write_text(TRAMS, encoding="utf-8")
    page.locator("#files").set_input_files(str(upload))
    expect(page.locator("#build")).to_contain_text(
        "The builder published the new index.", timeout=BROWSER_TIMEOUT * 3
    )
    expect(table.get_by_role("row", name="Night trams to Otaniemi")).to_contain_text("In use")
    assert (topology.docs / "night-trams.md").read_text(encoding="utf-8") == TRAMS
    question = {"question": "How often do the night trams to Otaniemi leave?"}
    for n in (0, 1):
        wait_until(
            lambda n=n: any(  # type: ignore[misc]
                c["document"] == "night-trams.md"
                for c in httpx.post(f"{topology.replica_url(n)}/api/ask", json=question, timeout=60)
                .json()
                .get("citations", [])
            ),
            f"replica {n + 1} never answered from the uploaded document",
        )
