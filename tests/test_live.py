"""Live rebuilds: background builds, hot swaps, the watcher, and faults (real model, real files)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ONNX_CACHE, copy_default_documents

from assistant.answer.assistant import Assistant
from assistant.answer.retrieval import Retriever
from assistant.index.build import build_index
from assistant.index.factory import build_from_settings
from assistant.index.store import current_version_dir, load_version
from assistant.web.live import LiveIndex, load_best_version

# builds with the real model, waits for watchers; every test needs the shared default index
pytestmark = pytest.mark.slow

DOCS = ("city-bikes.md", "jokeri-light-rail.md", "district-heating-coal-phase-out.md")
NEW_DOC = """---
title: Rooftop beehives at Espoo city hall
source: https://example.org/bees
date: 2026-05-01
topics: [nature]
---

# Rooftop beehives at Espoo city hall

The city hall roof in Espoo hosts twelve beehives that produced forty kilos of honey in 2026.
"""


@pytest.fixture
def live_setup(default_index, embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    docs = copy_default_documents(tmp_path / "docs", *DOCS)
    settings = default_index.settings.with_(
        documents=docs, index=tmp_path / "index", watch_debounce_ms=200
    )
    build_from_settings(settings, embedder=embedder)
    version, _ = load_best_version(settings)
    assistant = Assistant(settings, version, Retriever(embedder))
    live = LiveIndex(settings, assistant)
    yield settings, assistant, live
    live.stop()


def _documents(assistant: Assistant) -> set[str]:
    return {c.document for c in assistant.version.chunks.values()}


def test_build_swaps_the_served_version(live_setup) -> None:
    settings, assistant, live = live_setup
    before = assistant.version
    (settings.documents / "bees.md").write_text(NEW_DOC, encoding="utf-8")
    live.request_build(reason="test")
    assert live.wait_idle(120)
    assert assistant.version is not before
    assert "bees.md" in _documents(assistant)
    assert "bees.md" not in {c.document for c in before.chunks.values()}, "old version untouched"
    answer = assistant.ask("How much honey did the beehives on the city hall roof produce?")
    assert "forty kilos" in answer.text and answer.citations[0].document == "bees.md"
    assert live.state.last_result == "ok" and live.state.last_report["added"] == 1


def test_requests_during_a_build_schedule_exactly_one_more(live_setup) -> None:
    settings, assistant, live = live_setup
    (settings.documents / "bees.md").write_text(NEW_DOC, encoding="utf-8")
    for _ in range(5):
        live.request_build(reason="burst")
    assert live.wait_idle(120)
    assert 1 <= live.state.builds <= 2


def _assert_failed_and_still_serving(live: LiveIndex, assistant: Assistant, before) -> None:  # type: ignore[no-untyped-def]
    assert live.state.last_result == "failed"
    assert "previous index is unchanged" in live.state.last_error
    assert assistant.version is before
    assert not assistant.ask("When did the Jokeri light rail start running?").refused


def test_read_only_index_folder_fails_the_build_and_keeps_serving(live_setup) -> None:
    settings, assistant, live = live_setup
    before = assistant.version
    (settings.documents / "bees.md").write_text(NEW_DOC, encoding="utf-8")
    subprocess.run(["chattr", "+i", str(settings.index)], check=True)  # read-only, even for root
    try:
        live.request_build(reason="read-only")
        assert live.wait_idle(120)
    finally:
        subprocess.run(["chattr", "-i", str(settings.index)], check=True)
    _assert_failed_and_still_serving(live, assistant, before)
    live.request_build(reason="writable again")
    assert live.wait_idle(120)
    assert live.state.last_result == "ok" and "bees.md" in _documents(assistant)


def test_full_disk_fails_the_build_and_keeps_serving(
    default_index, embedder, tmp_path: Path
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *DOCS)
    staging = tmp_path / "staging"
    build_index(
        documents_dir=docs,
        index_dir=staging,
        embedder=embedder,
        chunk_size=default_index.settings.chunk_size,
        chunk_overlap=default_index.settings.chunk_overlap,
    )
    used = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    disk = tmp_path / "disk"
    disk.mkdir()
    size_kb = (used * 3 // 2) // 1024 + 16  # room for one version, not for two
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(disk)], check=True
    )
    try:
        shutil.copytree(staging, disk / "index")
        # the encoders' and the reader's graphs stay where they were prepared (the Docker image
        # prepares them): the disk that fills is the index's
        settings = default_index.settings.with_(
            documents=docs, index=disk / "index", onnx_cache=str(ONNX_CACHE)
        )
        version, _ = load_best_version(settings)
        assistant = Assistant(settings, version, Retriever(embedder))
        live = LiveIndex(settings, assistant)
        (docs / "bees.md").write_text(NEW_DOC * 40, encoding="utf-8")
        live.request_build(reason="disk full")
        assert live.wait_idle(120)
        live.stop()
        _assert_failed_and_still_serving(live, assistant, version)
        assert "space" in live.state.last_error.lower()
        assert not list((disk / "index").glob(".build-*")), "the partial build is cleaned up"
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_watcher_makes_a_new_document_answerable(live_setup) -> None:
    settings, assistant, live = live_setup
    live.start_watching()
    time.sleep(0.5)
    (settings.documents / "bees.md").write_text(NEW_DOC, encoding="utf-8")
    deadline = time.monotonic() + 90
    while "bees.md" not in _documents(assistant) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "bees.md" in _documents(assistant)
    (settings.documents / "bees.md").unlink()
    deadline = time.monotonic() + 90
    while "bees.md" in _documents(assistant) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "bees.md" not in _documents(assistant)


def test_half_written_file_is_skipped_then_retried(live_setup) -> None:
    settings, assistant, live = live_setup
    pdf = settings.documents / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj <<")  # an editor still copying it
    live.request_build(reason="partial")
    assert live.wait_idle(120)
    assert live.state.last_result == "ok"
    assert any(s["path"] == "report.pdf" for s in live.state.last_report["skipped"])
    pdf.unlink()
    (settings.documents / "bees.md").write_text(NEW_DOC, encoding="utf-8")
    live.request_build(reason="complete")
    assert live.wait_idle(120)
    assert "bees.md" in _documents(assistant)
    assert not live.state.last_report["skipped"]


def test_damaged_live_version_falls_back_to_the_previous_good_one(live_setup) -> None:
    settings, assistant, live = live_setup
    first = current_version_dir(settings.index)
    (settings.documents / "bees.md").write_text(NEW_DOC, encoding="utf-8")
    live.request_build(reason="second version")
    assert live.wait_idle(120)
    second = current_version_dir(settings.index)
    assert first is not None and second is not None and first != second
    with open(second / "vectors.faiss", "r+b") as fh:
        fh.truncate(100)
    version, problem = load_best_version(settings)
    assert version is not None and version.path == first
    assert "damaged" in problem and "build" in problem
    live.request_build(reason="repair")
    assert live.wait_idle(120)
    repaired = load_version(current_version_dir(settings.index))  # type: ignore[arg-type]
    assert "bees.md" in {c.document for c in repaired.chunks.values()}


def test_nothing_to_serve_when_no_version_loads(tmp_path: Path, default_index) -> None:
    settings = default_index.settings.with_(index=tmp_path / "empty")
    version, problem = load_best_version(settings)
    assert version is None and "build" in problem
    shutil.rmtree(tmp_path / "empty", ignore_errors=True)
