"""Index builds: incremental updates, crash safety, damaged and incompatible indexes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    ROOT,
    CountingEmbedder,
    FakeEmbedder,
    copy_default_documents,
)
from test_documents import HTML, make_pdf

import assistant.index.build
from assistant.answer.retrieval import Retriever
from assistant.embed.base import Embedder
from assistant.errors import DocumentsError, IndexError_, IndexIncompatibleError, IndexMissingError
from assistant.index.build import BuildReport, build_index, text_hash
from assistant.index.store import MANIFEST, POINTER, VECTORS, IndexVersion, load_index
from assistant.ingest.chunking import chunk_document
from assistant.ingest.documents import load_document

SIZE, OVERLAP = 600, 1
BASE_DOCS = (
    "city-bikes.md",
    "jokeri-light-rail.md",
    "waste-management-ammassuo.md",
    "espoo-un-sdg-pioneer-2018.txt",
)
NEW_DOC = "district-heating-coal-phase-out.md"


def build(
    docs: Path,
    index: Path,
    embedder: Embedder,
    *,
    size: int = SIZE,
    overlap: int = OVERLAP,
    **options,
) -> BuildReport:
    return build_index(
        documents_dir=docs,
        index_dir=index,
        embedder=embedder,
        chunk_size=size,
        chunk_overlap=overlap,
        batch_size=8,
        **options,
    )


def load(index: Path, embedder: Embedder, *, size: int = SIZE, overlap: int = OVERLAP):
    return load_index(index, model=embedder.model_id, chunking={"size": size, "overlap": overlap})


def embedding_texts(path: Path, doc_id: str) -> set[str]:
    doc = load_document(path, doc_id)
    return {c.embedding_text() for c in chunk_document(doc, size=SIZE, overlap=OVERLAP)}


def chunks_by_document(version: IndexVersion) -> dict[str, dict[int, str]]:
    """document -> {faiss id: chunk id}."""
    out: dict[str, dict[int, str]] = {}
    for fid, chunk in version.chunks.items():
        out.setdefault(chunk.document, {})[fid] = chunk.id
    return out


def versions(index: Path) -> list[str]:
    return sorted(p.name for p in index.glob("v-*"))


def leftovers(index: Path) -> list[str]:
    return sorted(p.name for p in index.glob(".build-*"))


def top_documents(retriever: Retriever, version: IndexVersion, query: str, k: int = 5) -> list[str]:
    return [h.chunk.document for h in retriever.search(version, query, k=k).hits]


# --- fixtures: one real-model base index per module, copied for every test -----------------------


@dataclass
class Corpus:
    docs: Path
    index: Path


@dataclass
class Base:
    docs: Path
    index: Path
    report: BuildReport
    texts: list[str]
    calls: list[int]


@pytest.fixture(scope="module")
def base(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("base")
    docs = copy_default_documents(root / "docs", *BASE_DOCS)
    counting = CountingEmbedder(embedder)
    report = build(docs, root / "index", counting)
    return Base(docs, root / "index", report, list(counting.texts), list(counting.calls))


@pytest.fixture
def corpus(base: Base, tmp_path: Path) -> Corpus:
    """A private copy of the base documents and their real-model index."""
    return Corpus(
        shutil.copytree(base.docs, tmp_path / "docs"),
        shutil.copytree(base.index, tmp_path / "index"),
    )


@pytest.fixture
def counting(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def retriever(embedder: Embedder) -> Retriever:
    return Retriever(embedder)


# --- incremental builds ---------------------------------------------------------------------------


@pytest.mark.slow
def test_first_build_embeds_every_chunk(base: Base, embedder: Embedder) -> None:
    expected = set().union(*(embedding_texts(base.docs / d, d) for d in BASE_DOCS))

    assert base.report.full is True
    assert (base.report.added, base.report.changed, base.report.removed) == (4, 0, 0)
    assert base.report.unchanged == 0
    assert base.report.documents == 4
    assert base.report.skipped == []
    assert base.report.chunks == base.report.chunks_embedded == len(base.texts) == len(expected)
    assert set(base.texts) == expected
    assert sorted(base.report.embedded_documents) == sorted(BASE_DOCS)
    version = load(base.index, embedder)
    assert len(version) == base.report.chunks
    assert version.vectors.ntotal == base.report.chunks
    assert version.name == base.report.version
    assert (base.index / POINTER).read_text().strip() == base.report.version


@pytest.mark.slow
def test_second_build_without_changes_embeds_nothing(
    corpus: Corpus, base: Base, counting: CountingEmbedder
) -> None:
    before = versions(corpus.index)

    report = build(corpus.docs, corpus.index, counting)

    assert counting.texts == []
    assert report.chunks_embedded == 0
    assert report.version == base.report.version
    assert versions(corpus.index) == before
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 4)
    assert report.full is False
    assert report.chunks == base.report.chunks


@pytest.mark.slow
def test_adding_a_document_embeds_only_its_chunks(
    corpus: Corpus, counting: CountingEmbedder, retriever: Retriever, embedder: Embedder
) -> None:
    question = "When did Espoo stop burning coal for district heat?"
    old = load(corpus.index, embedder)
    assert NEW_DOC not in top_documents(retriever, old, question)
    copy_default_documents(corpus.docs, NEW_DOC)

    report = build(corpus.docs, corpus.index, counting)

    new_texts = embedding_texts(corpus.docs / NEW_DOC, NEW_DOC)
    assert set(counting.texts) == new_texts
    assert len(counting.texts) == len(new_texts) == report.chunks_embedded
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 0, 0, 4)
    assert report.embedded_documents == [NEW_DOC]
    assert report.version != old.name
    new = load(corpus.index, embedder)
    assert len(new) == len(old) + len(new_texts)
    before, after = chunks_by_document(old), chunks_by_document(new)
    for doc in BASE_DOCS:
        assert after[doc] == before[doc]  # same faiss ids, same chunk ids
    assert top_documents(retriever, new, question)[0] == NEW_DOC


@pytest.mark.slow
def test_a_build_shows_progress_for_passages_sentences_and_new_words(
    corpus: Corpus, embedder: Embedder
) -> None:
    bars: list[tuple[str, int, int]] = []  # unit, total, done: recorded when a bar closes

    class Recorder:
        def __init__(self, total: int, *, unit: str = "chunk") -> None:
            self.unit, self.total, self.done = unit, total, 0

        def update(self, n: int) -> None:
            self.done += n

        def close(self) -> None:
            bars.append((self.unit, self.total, self.done))

    copy_default_documents(corpus.docs, NEW_DOC)
    report = build(corpus.docs, corpus.index, embedder, progress=Recorder)
    # e5 encodes every sentence again on its own, about half of a build: a bar of its own (it
    # runs after the passages' and closes inside it)
    assert [unit for unit, *_ in bars] == ["sentence", "chunk", "word"]
    sentences, passages, words = bars
    assert passages[1] == passages[2] == report.chunks_embedded
    assert sentences[1] == sentences[2] > report.chunks_embedded  # several per passage
    assert 0 < words[1] == words[2]  # the new document's words the old index lacked
    bars.clear()
    build(corpus.docs, corpus.index, embedder, progress=Recorder)
    assert bars == []  # nothing changed: nothing to embed, no bar at all


@pytest.mark.slow
def test_modifying_a_document_embeds_only_its_changed_passages(
    corpus: Corpus, counting: CountingEmbedder, retriever: Retriever, embedder: Embedder
) -> None:
    old = load(corpus.index, embedder)
    path = corpus.docs / "city-bikes.md"
    text = path.read_text(encoding="utf-8")
    assert "about 2.5 million trips" in text
    edited = text.replace("about 2.5 million trips", "about 2.9 million trips").replace(
        "## Sources",
        "A new fleet of 500 purple electric city bikes will arrive in Leppävaara in 2026.\n\n"
        "## Sources",
    )
    path.write_text(edited, encoding="utf-8")

    report = build(corpus.docs, corpus.index, counting)

    new_chunks = chunk_document(load_document(path, "city-bikes.md"), size=SIZE, overlap=OVERLAP)
    old_bike_texts = {
        c.embedding_text() for c in old.chunks.values() if c.document == "city-bikes.md"
    }
    assert counting.texts, "the changed passage must be embedded"
    assert set(counting.texts) <= {c.embedding_text() for c in new_chunks}
    assert set(counting.texts).isdisjoint(old_bike_texts)
    assert len(counting.texts) < len(new_chunks)
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 1, 0, 3)
    assert report.embedded_documents == ["city-bikes.md"]

    new = load(corpus.index, embedder)
    before, after = chunks_by_document(old), chunks_by_document(new)
    for doc in BASE_DOCS:
        if doc != "city-bikes.md":
            assert after[doc] == before[doc]
    # chunks before the edit keep their ids; the edited passage is replaced
    old_ids = [
        c.id
        for c in sorted(
            (c for c in old.chunks.values() if c.document == "city-bikes.md"),
            key=lambda c: c.position,
        )
    ]
    new_ids = [c.id for c in new_chunks]
    assert new_ids[:-1] == old_ids[:-1] and new_ids[-1] != old_ids[-1]
    assert sorted(after["city-bikes.md"].values()) == sorted(new_ids)
    assert not any("2.5 million trips" in c.text for c in new.chunks.values())

    hits = retriever.search(new, "purple electric city bikes in Leppävaara", k=3).hits
    assert hits[0].chunk.document == "city-bikes.md"
    assert "purple electric city bikes" in hits[0].chunk.text
    assert "2.9 million trips" in hits[0].chunk.text


@pytest.mark.slow
def test_reused_vectors_are_the_ones_the_model_would_compute(
    corpus: Corpus, counting: CountingEmbedder, embedder: Embedder
) -> None:
    path = corpus.docs / "jokeri-light-rail.md"
    path.write_text(
        path.read_text(encoding="utf-8") + "\nOne more closing remark.\n", encoding="utf-8"
    )

    build(corpus.docs, corpus.index, counting)

    version = load(corpus.index, embedder)
    fids = sorted(f for f, c in version.chunks.items() if c.document == "jokeri-light-rail.md")
    stored = version.vectors_of(fids)
    fresh = embedder.encode([version.chunks[f].embedding_text() for f in fids])
    assert len(counting.texts) < len(fids)
    np.testing.assert_allclose(stored, fresh, atol=1e-5)


@pytest.mark.slow
def test_deleting_a_document_removes_its_chunks_and_embeds_nothing(
    corpus: Corpus, counting: CountingEmbedder, retriever: Retriever, embedder: Embedder
) -> None:
    question = "How many city bikes and stations were in the 2017 pilot in Matinkylä?"
    old = load(corpus.index, embedder)
    assert top_documents(retriever, old, question)[0] == "city-bikes.md"
    (corpus.docs / "city-bikes.md").unlink()

    report = build(corpus.docs, corpus.index, counting)

    assert counting.texts == []
    assert report.chunks_embedded == 0
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 1, 3)
    assert report.documents == 3
    new = load(corpus.index, embedder)
    assert "city-bikes.md" not in chunks_by_document(new)
    assert "city-bikes.md" not in new.manifest.documents
    assert len(new) == len(old) - len(chunks_by_document(old)["city-bikes.md"])
    assert new.vectors.ntotal == len(new) == len(new.lexical)
    assert "city-bikes.md" not in top_documents(retriever, new, question, k=10)
    lexical_hits = new.lexical.search("Matinkylä Olari city bike pilot", 50)
    assert all(new.chunks[i].document != "city-bikes.md" for i, _ in lexical_hits)


def test_editing_only_the_sidecar_metadata_updates_the_document(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    build(docs, index, fake_embedder)
    meta = docs / "espoo-un-sdg-pioneer-2018.txt.meta.yml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace(
            "Espoo to become a forerunner", "Espoo becomes a forerunner"
        ),
        encoding="utf-8",
    )
    counting = CountingEmbedder(fake_embedder)

    report = build(docs, index, counting)

    assert (report.changed, report.unchanged) == (1, 3)
    version = load(index, fake_embedder)
    press = [c for c in version.chunks.values() if c.document == "espoo-un-sdg-pioneer-2018.txt"]
    assert press and all(c.title.startswith("Espoo becomes a forerunner") for c in press)
    # the title is part of what the model sees, so every passage is embedded again
    assert report.chunks_embedded == len(press) == len(counting.texts)


@pytest.mark.slow
def test_an_index_whose_word_index_is_of_an_older_format_is_rewritten_without_embedding(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    import json

    from assistant.index.bm25 import FORMAT

    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS, "pyoraily-ja-kaupunkipyorat-fi.md")
    index = tmp_path / "index"
    first = build(docs, index, fake_embedder)
    (meta_path,) = index.glob(f"{first.version}/lexical/lexical.json")
    meta = json.loads(meta_path.read_text())
    assert meta["format"] == FORMAT and meta["respellings"]
    # as an index written before the respellings were: no format, no respellings
    del meta["format"], meta["respellings"]
    meta_path.write_text(json.dumps(meta))
    assert load(index, fake_embedder).lexical.format == 1
    counting = CountingEmbedder(fake_embedder)

    report = build(docs, index, counting)

    assert report.version != first.version and report.full is False
    assert counting.texts == [] and report.chunks_embedded == 0
    version = load(index, fake_embedder)
    assert version.lexical.format == FORMAT and version.lexical.respellings
    assert len(version.chunks) == first.chunks
    assert build(docs, index, counting).version == report.version  # and then it stays


def test_moving_a_document_into_a_subfolder_changes_its_id(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    build(docs, index, fake_embedder)
    (docs / "sub").mkdir()
    (docs / "city-bikes.md").rename(docs / "sub" / "city-bikes.md")
    counting = CountingEmbedder(fake_embedder)

    report = build(docs, index, counting)

    assert (report.added, report.removed, report.unchanged) == (1, 1, 3)
    version = load(index, fake_embedder)
    assert "sub/city-bikes.md" in chunks_by_document(version)
    assert "city-bikes.md" not in chunks_by_document(version)
    assert report.embedded_documents in ([], ["sub/city-bikes.md"])
    moved = load_document(docs / "sub" / "city-bikes.md", "sub/city-bikes.md")
    expected = {c.id for c in chunk_document(moved, size=SIZE, overlap=OVERLAP)}
    assert set(chunks_by_document(version)["sub/city-bikes.md"].values()) == expected
    assert version.vectors.ntotal == len(version)


def test_an_edit_that_shifts_offsets_reembeds_only_changed_text(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", "jokeri-light-rail.md")
    index = tmp_path / "index"
    build(docs, index, fake_embedder)
    old = load(index, fake_embedder)
    path = docs / "jokeri-light-rail.md"
    text = path.read_text(encoding="utf-8")
    first_section = text.index("\n## ")
    path.write_text(
        text[:first_section] + " It is nicknamed the Orange Snake." + text[first_section:],
        encoding="utf-8",
    )
    counting = CountingEmbedder(fake_embedder)

    report = build(docs, index, counting)

    new = load(index, fake_embedder)
    assert report.changed == 1
    assert counting.texts and len(counting.texts) == 1
    assert "Orange Snake" in counting.texts[0]
    # every chunk id changed (the offsets moved), but text hashes let the vectors be reused
    assert set(new.by_chunk_id).isdisjoint(old.by_chunk_id)
    old_by_hash = {text_hash(c): old.vectors.reconstruct(f) for f, c in old.chunks.items()}
    for fid, chunk in new.chunks.items():
        if "Orange Snake" not in chunk.text:
            np.testing.assert_array_equal(
                new.vectors.reconstruct(fid), old_by_hash[text_hash(chunk)]
            )


def test_changing_the_model_triggers_a_full_rebuild(tmp_path: Path) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    first = build(docs, index, FakeEmbedder("fake-a", dimension=32))
    other = CountingEmbedder(FakeEmbedder("fake-b", dimension=16))

    report = build(docs, index, other)

    assert report.full is True
    assert "model" in report.reason and "fake-a" in report.reason
    assert report.chunks_embedded == len(other.texts) == first.chunks
    assert report.documents == 4 and report.unchanged == 0
    version = load(index, other)
    assert version.manifest.model == "fake-b"
    assert version.manifest.dimension == version.vectors.d == 16
    with pytest.raises(IndexIncompatibleError):
        load(index, FakeEmbedder("fake-a"))


@pytest.mark.parametrize(
    ("size", "overlap"), [(400, OVERLAP), (SIZE, 2)], ids=["chunk-size", "chunk-overlap"]
)
def test_changing_chunking_triggers_a_full_rebuild(
    tmp_path: Path, fake_embedder: FakeEmbedder, size: int, overlap: int
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    build(docs, index, fake_embedder)
    counting = CountingEmbedder(fake_embedder)

    report = build(docs, index, counting, size=size, overlap=overlap)

    assert report.full is True
    assert "chunking" in report.reason
    assert report.chunks_embedded == report.chunks == len(counting.texts)
    version = load(index, fake_embedder, size=size, overlap=overlap)
    assert version.manifest.chunking == {"size": size, "overlap": overlap}
    expected = sum(
        len(chunk_document(load_document(docs / d, d), size=size, overlap=overlap))
        for d in BASE_DOCS
    )
    assert len(version) == expected


def test_full_flag_forces_a_rebuild(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    first = build(docs, index, fake_embedder)
    counting = CountingEmbedder(fake_embedder)

    report = build(docs, index, counting, full=True)

    assert report.full is True
    assert report.version != first.version
    assert report.chunks_embedded == len(counting.texts) == first.chunks
    assert len(load(index, fake_embedder)) == first.chunks


@pytest.mark.parametrize(
    ("model", "chunking"),
    [
        ("other-model", {"size": SIZE, "overlap": OVERLAP}),
        (FakeEmbedder().model_id, {"size": 400, "overlap": OVERLAP}),
        (FakeEmbedder().model_id, {"size": SIZE, "overlap": 0}),
    ],
    ids=["model", "chunk-size", "chunk-overlap"],
)
def test_loading_an_index_built_with_other_settings_is_refused(
    tmp_path: Path, fake_embedder: FakeEmbedder, model: str, chunking: dict[str, int]
) -> None:
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")
    build(docs, tmp_path / "index", fake_embedder)

    with pytest.raises(IndexIncompatibleError) as error:
        load_index(tmp_path / "index", model=model, chunking=chunking)

    assert isinstance(error.value, IndexError_)
    assert "espoo-assistant build" in str(error.value)


def test_loading_an_index_of_another_format_version_is_refused(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")
    report = build(docs, tmp_path / "index", fake_embedder)
    manifest = tmp_path / "index" / report.version / MANIFEST
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format_version": 99}))

    with pytest.raises(IndexIncompatibleError, match="build"):
        load(tmp_path / "index", fake_embedder)
    rebuilt = build(docs, tmp_path / "index", fake_embedder)
    assert rebuilt.full is True
    assert load(tmp_path / "index", fake_embedder).manifest.format_version != 99


@pytest.mark.parametrize("state", ["no-folder", "empty-folder", "dangling-pointer"])
def test_a_missing_index_raises_index_missing_error(tmp_path: Path, state: str) -> None:
    index = tmp_path / "index"
    if state != "no-folder":
        index.mkdir()
    if state == "dangling-pointer":
        (index / POINTER).write_text("v-20200101T000000000000-abcdef\n")

    with pytest.raises(IndexMissingError, match="build"):
        load_index(index, model="all-MiniLM-L6-v2", chunking={"size": SIZE, "overlap": OVERLAP})


def test_building_from_a_missing_or_empty_folder_fails_clearly(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    with pytest.raises(DocumentsError, match="does not exist"):
        build(tmp_path / "nowhere", tmp_path / "index", fake_embedder)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.docx").write_bytes(b"PK\x03\x04")
    with pytest.raises(DocumentsError, match="No documents"):
        build(tmp_path / "empty", tmp_path / "index", fake_embedder)
    assert not (tmp_path / "index" / POINTER).exists()


# --- bad files during a build ---------------------------------------------------------------------


def test_bad_files_are_skipped_and_reported_while_the_build_goes_on(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")
    pdf = make_pdf()
    (docs / "report.pdf").write_bytes(pdf)
    (docs / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02 not text \x00" * 20)
    (docs / "empty.md").write_bytes(b"")
    (docs / "notes.docx").write_bytes(b"PK\x03\x04 word")
    (docs / "cp1252.txt").write_bytes("Ämmässuo costs 5 € per visit.".encode("cp1252"))
    (docs / "sub").mkdir()
    (docs / "sub" / "a.md").write_text("# Sub\n\nA document in a subfolder.\n", encoding="utf-8")
    index = tmp_path / "index"

    report = build(docs, index, fake_embedder)

    skipped = {s.path: s.reason for s in report.skipped}
    assert set(skipped) == {"truncated.pdf", "binary.txt", "empty.md", "notes.docx"}
    assert "PDF" in skipped["truncated.pdf"] and "damaged" in skipped["truncated.pdf"]
    assert "binary" in skipped["binary.txt"]
    assert "empty" in skipped["empty.md"]
    assert ".docx" in skipped["notes.docx"]
    assert report.documents == report.added == 4
    assert report.to_dict()["skipped"] == [
        {"path": s.path, "reason": s.reason} for s in report.skipped
    ]
    version = load(index, fake_embedder)
    assert set(chunks_by_document(version)) == {
        "city-bikes.md",
        "report.pdf",
        "cp1252.txt",
        "sub/a.md",
    }
    assert {c.page for c in version.chunks.values() if c.document == "report.pdf"} == {1}
    assert all(c.page is None for c in version.chunks.values() if c.document != "report.pdf")
    assert any("Ämmässuo costs 5 €" in c.text for c in version.chunks.values())
    assert {s["path"] for s in version.manifest.skipped} == set(skipped)

    again = build(docs, index, CountingEmbedder(fake_embedder))
    assert again.version == report.version
    assert again.chunks_embedded == 0
    assert {s.path for s in again.skipped} == set(skipped)


def test_pdf_pages_survive_the_index_round_trip(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(make_pdf())

    build(docs, tmp_path / "index", fake_embedder, size=100, overlap=0)

    version = load(tmp_path / "index", fake_embedder, size=100, overlap=0)
    pages = {c.text: c.page for c in version.chunks.values()}
    assert set(pages.values()) == {1, 2, 3}
    assert next(p for t, p in pages.items() if "biowaste becomes biogas" in t) == 2


def test_an_html_document_is_indexed(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")
    (docs / "kera.html").write_text(HTML, encoding="utf-8")

    report = build(docs, tmp_path / "index", fake_embedder)

    assert report.skipped == []
    version = load(tmp_path / "index", fake_embedder)
    kera = [c for c in version.chunks.values() if c.document == "kera.html"]
    assert kera and kera[0].title == "Kera district"


def test_a_document_that_becomes_unreadable_keeps_its_last_good_chunks(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    build(docs, index, fake_embedder)
    before = chunks_by_document(load(index, fake_embedder))
    (docs / "city-bikes.md").write_bytes(b"\x00\x00 binary junk \x00")

    report = build(docs, index, fake_embedder)

    assert [s.path for s in report.skipped] == ["city-bikes.md"]
    assert chunks_by_document(load(index, fake_embedder)) == before


# --- crash safety ---------------------------------------------------------------------------------


class FailingEmbedder(CountingEmbedder):
    """Encodes the first ``after`` texts with the real embedder, then raises ``error``."""

    def __init__(self, inner: Embedder, *, after: int, error: BaseException) -> None:
        super().__init__(inner)
        self.after = after
        self.error = error

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress=None, role: str = "passage"
    ) -> np.ndarray:
        self.calls.append(len(texts))
        assert len(texts) > self.after, "the failure must happen midway"
        self.texts.extend(texts[: self.after])
        self.inner.encode(texts[: self.after], batch_size=batch_size, progress=progress, role=role)
        raise self.error

    def encode_spans(self, texts, spans, *, batch_size: int = 32, progress=None, role="passage"):  # type: ignore[no-untyped-def]
        return None, self.encode(texts, batch_size=batch_size, progress=progress, role=role)


def snapshot(retriever: Retriever, version: IndexVersion) -> list[list[tuple[str, str, float]]]:
    questions = [
        "How many city bikes were there in 2019?",
        "When did the Jokeri light rail open?",
        "Which cities were pioneers of the UN goals with Espoo?",
    ]
    return [
        [
            (h.chunk.document, h.chunk.id, round(h.score, 6))
            for h in retriever.search(version, q, k=5).hits
        ]
        for q in questions
    ]


def change_documents(docs: Path) -> None:
    copy_default_documents(docs, NEW_DOC)
    path = docs / "jokeri-light-rail.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Jokeri", "Raide-Jokeri"), encoding="utf-8"
    )


@pytest.mark.parametrize(
    "error", [RuntimeError("the model crashed"), KeyboardInterrupt()], ids=["error", "ctrl-c"]
)
@pytest.mark.slow
def test_a_build_that_dies_while_embedding_leaves_the_previous_version_live(
    corpus: Corpus, embedder: Embedder, retriever: Retriever, error: BaseException
) -> None:
    old = load(corpus.index, embedder)
    pointer = (corpus.index / POINTER).read_text()
    before_versions = versions(corpus.index)
    before = snapshot(retriever, old)
    change_documents(corpus.docs)
    failing = FailingEmbedder(embedder, after=5, error=error)

    with pytest.raises(type(error)):
        build(corpus.docs, corpus.index, failing)

    assert len(failing.texts) == 5
    assert (corpus.index / POINTER).read_text() == pointer
    assert versions(corpus.index) == before_versions
    assert leftovers(corpus.index) == []
    survivor = load(corpus.index, embedder)
    assert survivor.name == old.name
    assert chunks_by_document(survivor) == chunks_by_document(old)
    assert snapshot(retriever, survivor) == before

    report = build(corpus.docs, corpus.index, embedder)
    assert (report.added, report.changed, report.unchanged) == (1, 1, 3)
    assert load(corpus.index, embedder).name == report.version != old.name


@pytest.mark.slow
def test_ctrl_c_after_some_batches_leaves_the_previous_version_live(
    corpus: Corpus, embedder: Embedder
) -> None:
    old = load(corpus.index, embedder)
    pointer = (corpus.index / POINTER).read_text()
    change_documents(corpus.docs)
    bars: list[Bar] = []

    class Bar:
        def __init__(self, total: int, *, unit: str = "chunk") -> None:
            self.total, self.done, self.closed = total, 0, False
            bars.append(self)

        def update(self, n: int) -> None:
            self.done += n
            if self.done >= 2 * 4:  # two batches of 4
                raise KeyboardInterrupt

        def close(self) -> None:
            self.closed = True

    with pytest.raises(KeyboardInterrupt):
        build_index(
            documents_dir=corpus.docs,
            index_dir=corpus.index,
            embedder=embedder,
            chunk_size=SIZE,
            chunk_overlap=OVERLAP,
            batch_size=4,
            progress=Bar,
        )

    assert len(bars) == 1 and bars[0].closed and bars[0].done < bars[0].total
    assert (corpus.index / POINTER).read_text() == pointer
    assert load(corpus.index, embedder).name == old.name
    assert leftovers(corpus.index) == []


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (KeyboardInterrupt(), KeyboardInterrupt),
        (OSError(28, "No space left on device"), IndexError_),
    ],
    ids=["ctrl-c", "disk-full"],
)
def test_a_build_that_dies_while_writing_leaves_the_previous_version_live(
    tmp_path: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    raised: type[BaseException],
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    first = build(docs, index, fake_embedder)
    old = load(index, fake_embedder)
    change_documents(docs)
    real_save = assistant.index.build.save_version
    written: list[Path] = []

    def save_then_die(folder: Path, *args, **kwargs) -> None:
        real_save(folder, *args, **kwargs)
        written.append(folder)
        raise error

    monkeypatch.setattr(assistant.index.build, "save_version", save_then_die)

    with pytest.raises(raised) as info:
        build(docs, index, fake_embedder)

    assert written and written[0].name.startswith(".build-")
    if raised is IndexError_:
        assert "previous index is unchanged" in str(info.value)
    assert leftovers(index) == []
    assert versions(index) == [first.version]
    assert (index / POINTER).read_text().strip() == first.version
    assert chunks_by_document(load(index, fake_embedder)) == chunks_by_document(old)


KILLED_BUILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    import assistant.index.build
    from conftest import FakeEmbedder

    real_save = assistant.index.build.save_version

    def save_and_get_killed(folder, *args, **kwargs):
        real_save(folder, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # like a power cut: no cleanup runs

    assistant.index.build.save_version = save_and_get_killed
    assistant.index.build.build_index(documents_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]),
                                embedder=FakeEmbedder(), chunk_size=600, chunk_overlap=1)
    """
)


def test_a_killed_build_leaves_a_leftover_that_the_next_build_removes(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    first = build(docs, index, fake_embedder)
    change_documents(docs)

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD, str(docs), str(index), str(ROOT / "tests")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert killed.returncode == -9, killed.stderr
    assert len(leftovers(index)) == 1
    assert (index / POINTER).read_text().strip() == first.version
    assert load(index, fake_embedder).name == first.version

    report = build(docs, index, fake_embedder)

    assert leftovers(index) == []
    assert (report.added, report.changed) == (1, 1)
    assert load(index, fake_embedder).name == report.version


def test_old_versions_are_pruned_to_the_live_one_and_the_one_before(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")
    index = tmp_path / "index"
    names = []
    for i in range(4):
        (docs / "extra.txt").write_text(f"Extra document number {i}.\n", encoding="utf-8")
        names.append(build(docs, index, fake_embedder).version)

    assert len(set(names)) == 4
    assert versions(index) == sorted(names[-2:])
    assert load(index, fake_embedder).name == names[-1]


# --- damaged indexes ------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated-vectors": lambda v: _truncate(v / VECTORS),
    "empty-vectors": lambda v: (v / VECTORS).write_bytes(b""),
    "missing-vectors": lambda v: (v / VECTORS).unlink(),
    "garbage-chunk-store": lambda v: (v / "chunks.sqlite").write_bytes(b"not a database" * 100),
    "missing-chunk-store": lambda v: (v / "chunks.sqlite").unlink(),
    "garbage-manifest": lambda v: (v / MANIFEST).write_text("{not json"),
    "missing-manifest": lambda v: (v / MANIFEST).unlink(),
    "missing-lexical": lambda v: shutil.rmtree(v / "lexical"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_refused_and_rebuilt_by_the_next_build(
    tmp_path: Path, fake_embedder: FakeEmbedder, damage: str
) -> None:
    docs = copy_default_documents(tmp_path / "docs", *BASE_DOCS)
    index = tmp_path / "index"
    first = build(docs, index, fake_embedder)
    DAMAGE[damage](index / first.version)

    with pytest.raises(IndexError_) as error:
        load(index, fake_embedder)
    assert "build" in str(error.value) and "Traceback" not in str(error.value)

    counting = CountingEmbedder(fake_embedder)
    report = build(docs, index, counting)

    assert report.full is True
    assert report.chunks_embedded == len(counting.texts) == first.chunks
    version = load(index, fake_embedder)
    assert version.name == report.version != first.version
    assert len(version) == version.vectors.ntotal == first.chunks


@pytest.mark.slow
def test_a_damaged_real_index_is_rebuilt_and_answers_again(
    corpus: Corpus, embedder: Embedder, retriever: Retriever, base: Base
) -> None:
    before = snapshot(retriever, load(corpus.index, embedder))
    _truncate(corpus.index / base.report.version / VECTORS)
    with pytest.raises(IndexError_, match="build"):
        load(corpus.index, embedder)

    report = build(corpus.docs, corpus.index, embedder)

    assert report.full is True
    rebuilt = load(corpus.index, embedder)
    after = snapshot(retriever, rebuilt)
    # same passages found (faiss ids are new, but documents and chunk ids are the same)
    assert [[(d, c) for d, c, _ in q] for q in after] == [[(d, c) for d, c, _ in q] for q in before]


def test_builds_do_not_leave_files_outside_the_index_folder(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")
    before = sorted(os.listdir(docs))

    build(docs, tmp_path / "index", fake_embedder)

    assert sorted(os.listdir(docs)) == before
    assert sorted(
        p.name for p in (tmp_path / "index").iterdir() if not p.name.startswith("v-")
    ) == [".lock", POINTER]
