"""Shared parts of the web tests: one corpus, index and assistant per test session, live servers.

The expensive parts are the session's, from ``conftest``: the real model and the real index of
``documents/`` (``default_index``). The ``web_corpus`` fixture hands them over (``use_shared``);
the web index is a copy of that index plus two test documents, built once per process.
"""

from __future__ import annotations

import atexit
import functools
import http.server
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: A document whose title, text and source link carry XSS payloads; each would set window.__xss.
XSS_DOCUMENT = """---
title: "Glow-worm survey <img src=x onerror=\\"window.__xss='title'\\">"
source: "javascript:window.__xss='link'"
date: 2025-06-01
language: en
topics: [glow-worms]
---
# Glow-worm survey

Volunteers counted 4,213 glow-worms in the Kivenlahti meadows in summer 2025 <img src=x \
onerror="window.__xss='text'"><script>window.__xss='script'</script> during the night survey.
"""
XSS_QUESTION = "How many glow-worms did volunteers count in the Kivenlahti meadows?"
PDF_QUESTION = "How large is the green roof on the Tapiola library?"
PDF_SOURCE = "https://example.org/reports/espoo-green-roofs.pdf"


def _write_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    filler = [
        "Green roofs are roofs covered with plants that grow in a thin layer of soil.",
        "They hold back rainwater, cool buildings in summer and give insects a place to live.",
        "Many cities in the Nordic countries have started to add green roofs to public buildings.",
        "This test report describes the green roof pilots that were planned for public buildings.",
        "The pilots measure how much rain the roofs keep and how the plants survive the winter.",
        "Each pilot is followed for three years by the building owner and a research partner.",
    ]
    pages = [
        ["Green roofs in Espoo", *filler, *filler[:3]],
        [
            "Pilot buildings",
            *filler[3:],
            *filler[:3],
            "The green roof on the Tapiola library covers 1,250 square metres of sedum plants.",
            "The Tapiola library roof was planted in the spring of 2024.",
        ],
    ]
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle("Green roofs in Espoo (test report)")
    for lines in pages:
        for i, line in enumerate(lines):
            pdf.drawString(72, 760 - 24 * i, line)
        pdf.showPage()
    pdf.save()
    path.with_name(path.name + ".meta.yml").write_text(
        f'title: "Green roofs in Espoo (test report)"\nsource: {PDF_SOURCE}\n'
        "date: 2025-02-01\nlanguage: en\ntopics: [green roofs]\n",
        encoding="utf-8",
    )


@functools.cache
def workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="espoo-web-tests-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def corpus() -> Path:
    """``documents/`` plus the XSS document and a two-page PDF."""
    folder = workdir() / "documents"
    shutil.copytree(ROOT / "documents", folder)
    (folder / "zz-glow-worm-survey.md").write_text(XSS_DOCUMENT, encoding="utf-8")
    _write_pdf(folder / "zz-green-roofs.pdf")
    return folder


def document_count() -> int:
    """Documents in :func:`corpus`, counted from the folder (not from the index)."""
    return sum(1 for p in corpus().iterdir() if p.is_file() and not p.name.endswith(".meta.yml"))


_shared: dict[str, Any] = {}


def use_shared(model: Any, default_index: Any) -> None:
    """Use the session's model and default-corpus index (``conftest``) instead of new ones."""
    _shared.setdefault("embedder", model)
    _shared.setdefault("default_index", default_index)


def _get(name: str) -> Any:
    if name not in _shared:
        raise RuntimeError("web tests need the `web_corpus` fixture (conftest) before this call")
    return _shared[name]


def embedder() -> Any:
    return _get("embedder")


@functools.cache
def built_settings() -> Any:
    """Settings over a real index of :func:`corpus`, built once.

    A copy of the session's default-corpus index, brought up to date by an incremental build: the
    real model embeds only the two test documents. The shared index itself is never changed.
    """
    from assistant.config import Settings
    from assistant.index.build import build_index

    default = _get("default_index")
    index = workdir() / "index"
    shutil.copytree(default.settings.index, index)
    settings = Settings(documents=corpus(), index=index, rate_limit="1000/minute")
    report = build_index(
        documents_dir=settings.documents,
        index_dir=settings.index,
        embedder=embedder(),
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
    )
    # only the two test documents were new; a full rebuild here would hide a broken shared index
    assert (report.added, report.changed, report.removed, report.full) == (2, 0, 0, False), report
    return settings


@functools.cache
def assistant() -> Any:
    """One real Assistant (real model, real index) shared by every web test."""
    from assistant.answer.factory import create_assistant

    return create_assistant(built_settings(), embedder=embedder())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yield its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def static_site(folder: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``folder`` over HTTP (another origin than the app); yield its URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """Parse a ``text/event-stream`` body into (event, data) pairs."""
    import json

    events = []
    for block in response.text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def example_page(folder: Path, name: str, app: str) -> str:
    """Copy ``examples/<name>`` and its stylesheet into ``folder``, its widget calling ``app``."""
    page = (ROOT / "examples" / name).read_text(encoding="utf-8")
    assert "http://127.0.0.1:7860/widget.js" in page
    page = page.replace("http://127.0.0.1:7860", app)
    (folder / name).write_text(page, encoding="utf-8")
    shutil.copy(ROOT / "examples" / "city-site.css", folder / "city-site.css")
    return page


#: Playwright's default timeout in the web tests (ms): the machine is shared and a build or the
#: model may be busy.
BROWSER_TIMEOUT = 60_000
#: True once the page's text is not faded or mid-transition: Gradio dims a component while an
#: event updates it, and axe-core would measure the contrast of the half-faded colours (a chat
#: page's language switch once failed so, at 2.4:1).
_STILL = """() => document.getAnimations().every(
        a => a.playState !== 'running' || a.effect.getComputedTiming().endTime === Infinity)
    && [...document.querySelectorAll('nav a, h1, button, .esa-answer, .esa-card')].every(e => {
        for (let p = e; p; p = p.parentElement)
            if (getComputedStyle(p).opacity !== '1') return false;
        return true; })"""


def axe_clean(page: Any) -> None:
    """axe-core finds no WCAG violation on ``page`` (once it has settled)."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_function(_STILL)
    result = Axe().run(page)
    assert result.violations_count == 0, result.generate_report()
