"""Shared fixtures: one real model and one default-corpus index per session, and test embedders.

``embedder`` and ``default_index`` are the real thing (sentence-transformers + FAISS) and are built
once, because answer-quality claims must be tested with them. ``FakeEmbedder`` is for the mechanics
of the index only (what gets re-embedded, what is kept), never for claims about retrieval quality.

``default_index`` is shared by the whole session (the answer, search, CLI and web tests): never
change its folder. A test that needs to change an index copies the folder first
(``shutil.copytree``), as ``web_corpus`` does. Building it takes most of a minute, so every test
that uses it is marked ``slow``; collection fails if one is not (``pytest_collection_modifyitems``),
which keeps ``make test-fast`` under a minute.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import MINILM_MODEL, Settings
from assistant.embed.base import Embedder, embed_with_spans
from assistant.embed.factory import create_embedder
from assistant.index.build import BuildReport, build_index
from assistant.index.store import IndexVersion, load_index

ROOT = Path(__file__).resolve().parents[1]
#: The fields of a citation in ``ask --json`` and ``POST /api/ask`` (the issue's list).
CITATION_KEYS = frozenset(
    {
        "n",
        "title",
        "source",
        "date",
        "section",
        "page",
        "document",
        "text",
        "quotes",
        "chunk_id",
        "language",
    }
)
#: One ONNX export for the whole session (the default backend), shared with the servers the tests
#: start; without it every test index folder would export the model again (~15 s each).
ONNX_CACHE = Path(os.environ.setdefault("ASSISTANT_ONNX_CACHE", tempfile.mkdtemp(prefix="onnx-")))
if ONNX_CACHE.name.startswith("onnx-"):
    atexit.register(shutil.rmtree, ONNX_CACHE, ignore_errors=True)
#: The default corpus shipped with the project.
DOCUMENTS = ROOT / "documents"


class FakeEmbedder:
    """Deterministic, model-free embedder: a normalised vector from a hash of each text."""

    def __init__(self, model_id: str = "fake-hash-embedder", dimension: int = 32) -> None:
        self.model_id = model_id
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self._dimension).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
        role: str = "passage",
    ) -> np.ndarray:
        """One hashed vector per text; both roles read a text alike (as MiniLM does)."""
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for begin in range(0, len(texts), batch_size):
            for i in range(begin, min(begin + batch_size, len(texts))):
                out[i] = self.vector(texts[i])
            if progress is not None:
                progress(min(batch_size, len(texts) - begin))
        return out


class CountingEmbedder:
    """Wraps an embedder and records every model call and what it encodes.

    Passages come through ``encode_spans`` (``texts``); anything else, such as questions and the
    corpus's words for the word table, through ``encode`` (``words``).
    """

    def __init__(self, inner: Embedder, *, prompts: dict[str, str] | None = None) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        #: The roles' prefixes the answer path sees (none by default: a build through the wrapper
        #: then counts each pass once, as ``encode_spans`` hands the passes to ``inner``).
        self.prompts = dict(prompts or {})
        self.texts: list[str] = []
        self.calls: list[int] = []  # number of texts per model call
        self.words: list[str] = []
        self.roles: list[str] = []  # the role of each model call

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
        role: str = "passage",
    ) -> np.ndarray:
        self.calls.append(len(texts))
        self.words.extend(texts)
        self.roles.append(role)
        return self.inner.encode(texts, batch_size=batch_size, progress=progress, role=role)

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
        role: str = "passage",
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passages with their sentences in one pass: counted like ``encode``."""
        self.calls.append(len(texts))
        self.texts.extend(texts)
        self.roles.append(role)
        return embed_with_spans(
            self.inner, texts, spans, batch_size=batch_size, progress=progress, role=role
        )

    def reset(self) -> None:
        self.texts.clear()
        self.calls.clear()
        self.words.clear()
        self.roles.clear()


@dataclass(frozen=True)
class DefaultIndex:
    """The default corpus built once: its settings, the loaded version and the build report.

    Unpacks as ``settings, version = default_index``.
    """

    settings: Settings
    version: IndexVersion
    report: BuildReport

    def __iter__(self) -> Iterator[Any]:
        return iter((self.settings, self.version))


def chunking_of(settings: Settings) -> dict[str, int]:
    return {"size": settings.chunk_size, "overlap": settings.chunk_overlap}


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model on the default backend (ONNX Runtime), loaded once per session."""
    model = create_embedder(cache_dir=ONNX_CACHE)
    assert model.dimension > 0  # load now, so the first test using it is not billed for it
    return model


@pytest.fixture(scope="session")
def default_onnx_embedder(embedder: Embedder) -> Embedder:
    """The default backend: the same embedder as ``embedder``."""
    return embedder


@pytest.fixture(scope="session")
def minilm_embedder() -> Embedder:
    """all-MiniLM-L6-v2 on ONNX Runtime, the default until evaluation.md row 86: for the tests of
    what was built and tuned with it (late chunking, the near-word bar, the rules' answer cues)."""
    model = create_embedder(MINILM_MODEL, "onnx", cache_dir=ONNX_CACHE)
    assert model.dimension > 0
    return model


@pytest.fixture(scope="session")
def torch_minilm() -> Embedder:
    """all-MiniLM-L6-v2 on torch (sentence-transformers): the reference of the ONNX export."""
    model = create_embedder(MINILM_MODEL, "torch")
    assert model.dimension > 0
    return model


@pytest.fixture(scope="session")
def default_index(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> DefaultIndex:
    """/work/main/documents built with the real default model and default chunking."""
    return _build_default(embedder, Settings(), tmp_path_factory.mktemp("default-index"))


@pytest.fixture(scope="session")
def minilm_index(
    minilm_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> DefaultIndex:
    """The default corpus built with all-MiniLM-L6-v2 (the old default)."""
    settings = Settings(model=MINILM_MODEL)
    return _build_default(minilm_embedder, settings, tmp_path_factory.mktemp("minilm-index"))


def _build_default(embedder: Embedder, base: Settings, folder: Path) -> DefaultIndex:
    settings = base.with_(documents=DOCUMENTS, index=folder / "index")
    report = build_index(
        documents_dir=settings.documents,
        index_dir=settings.index,
        embedder=embedder,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        batch_size=settings.batch_size,
    )
    version = load_index(settings.index, model=settings.model, chunking=chunking_of(settings))
    return DefaultIndex(settings, version, report)


@pytest.fixture(scope="session")
def web_corpus(embedder: Embedder, default_index: DefaultIndex) -> Settings:
    """The web tests' corpus (``documents/`` plus an XSS document and a PDF) and its real index.

    The index starts as a copy of ``default_index`` and is brought up to date by an incremental
    build, which embeds only the two test documents with the real model, instead of building the
    whole default corpus a second time.
    """
    import web_fixtures as web

    web.use_shared(embedder, default_index)
    return web.built_settings()


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A local OpenAI-compatible server (``fake_llm_server.py``): its URL and the file it records
    every request in."""
    record = tmp_path_factory.mktemp("llm") / "requests.jsonl"
    record.touch()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fake_llm_server.py")), str(record)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    yield f"http://127.0.0.1:{port}/v1", record
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def assistant_with(default_index: DefaultIndex, embedder: Embedder, **changes: Any) -> Any:
    """An ``Assistant`` over the default corpus's index with these settings changed."""
    from assistant.answer.assistant import Assistant
    from assistant.answer.retrieval import Retriever

    settings, version = default_index.settings, default_index.version
    return Assistant(settings.with_(**changes), version, Retriever(embedder))


def asked_by(assistant: Any, question: str) -> Any:
    """``question`` read as ``assistant`` reads it when asked (its index's words and spellings,
    its settings' limits, its tuning), for a test that looks inside the answer path."""
    from assistant.answer.question import read_question

    version = assistant.version
    return read_question(
        question,
        max_chars=assistant.settings.max_question_chars,
        only_in=version.lexical.only_in,
        spellings=version.lexical.respellings,
        tuning=assistant.tuning,
    )


def assert_current_weights(trained: Any, model: str, features: tuple[str, ...], fmt: int) -> None:
    """``trained`` (the package's learned model for ``model``) is there, of the code's format and
    features, and trained on the project's question files, never on the blind ones."""
    from assistant.evaluation.training import NEVER_TRAINED

    assert trained is not None, f"run: ASSISTANT_MODEL={model} espoo-assistant train-scorer"
    assert trained.features == features and trained.format == fmt
    assert len(trained.coef) == len(trained.mean) == len(trained.scale) == len(features)
    assert trained.trained_on
    assert not {Path(f).stem for f in trained.trained_on} & set(NEVER_TRAINED)


def copy_default_documents(target: Path, *names: str) -> Path:
    """Copy some default documents (and their sidecar metadata) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(DOCUMENTS / name, target / name)
        meta = DOCUMENTS / f"{name}.meta.yml"
        if meta.is_file():
            shutil.copy2(meta, target / meta.name)
    return target


@pytest.fixture
def copy_documents(tmp_path: Path) -> Callable[..., Path]:
    """``copy_documents("a.md", "b.txt")``: a tmp documents folder holding those default files."""

    def copy(*names: str, folder: str = "docs") -> Path:
        return copy_default_documents(tmp_path / folder, *names)

    return copy


#: A test that uses one of these fixtures (directly or through another fixture) must carry the mark.
REQUIRED_MARKS = {"default_index": "slow", "minilm_index": "slow", "browser": "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run when a test needs the shared index or Chromium but lacks the mark saying so.

    Without this, one unmarked test would pull the ~50 s index build into ``make test-fast``.
    """
    unmarked = [
        f"{item.nodeid} uses {fixture!r} but is not marked @pytest.mark.{mark}"
        for item in items
        for fixture, mark in REQUIRED_MARKS.items()
        if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(mark) is None
    ]
    if unmarked:
        raise pytest.UsageError("\n".join(["tests without the marks they need:", *unmarked]))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, launched once for the session's browser tests."""
    from playwright.sync_api import sync_playwright
    from web_fixtures import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh English desktop profile (1100 x 900) with the web tests' generous timeout;
    ``test_browser.py`` overrides it to stub requests leaving the machine."""
    from web_fixtures import BROWSER_TIMEOUT

    ctx = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    ctx.set_default_timeout(BROWSER_TIMEOUT)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()
