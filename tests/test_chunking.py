"""Chunking invariants, on the real default corpus and on synthetic texts."""

from __future__ import annotations

import pytest
from conftest import DOCUMENTS

from assistant.config import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from assistant.ingest.chunking import (
    SECTION_SEPARATOR,
    Chunk,
    chunk_document,
    split_sections,
    split_sentences,
)
from assistant.ingest.documents import Document, load_documents

CORPUS, _ = load_documents(DOCUMENTS)
SETTINGS = [
    pytest.param(DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP, id="default"),
    pytest.param(300, 0, id="300-no-overlap"),
    pytest.param(250, 2, id="250-overlap-2"),
]


def doc_of(text: str, *, id: str = "doc.md", title: str = "Test document") -> Document:
    return Document(
        id=id, title=title, text=text, source="https://example.org/doc", date="2024-01-02"
    )


def sentences_of(doc: Document) -> list[tuple[int, int]]:
    """Every sentence of every indexed section, as (start, end) offsets into doc.text."""
    spans = []
    for section in split_sections(doc):
        spans += [
            (s.start, s.end)
            for s in split_sentences(doc.text[section.start : section.end], section.start)
        ]
    return spans


def sentences_in(chunk: Chunk, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [s for s in spans if chunk.start <= s[0] and s[1] <= chunk.end]


def assert_invariants(doc: Document, chunks: list[Chunk], size: int, overlap: int) -> None:
    spans = sentences_of(doc)
    starts, ends = {s for s, _ in spans}, {e for _, e in spans}
    assert chunks, doc.id
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        # no sentence is split: chunks start at a sentence start and end at a sentence end
        assert chunk.start in starts, (doc.id, chunk.text[:60])
        assert chunk.end in ends, (doc.id, chunk.text[-60:])
        inside = sentences_in(chunk, spans)
        # ... and nothing between them is a partial sentence
        assert inside[0][0] == chunk.start and inside[-1][1] == chunk.end
        assert len(chunk.text) <= size or len(inside) == 1, (doc.id, len(chunk.text))
        assert chunk.document == doc.id
        assert chunk.title == doc.title
        assert chunk.source == doc.source
        assert chunk.date == doc.date
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
    # every indexed sentence is in some chunk
    covered = {s for c in chunks for s in sentences_in(c, spans)}
    assert covered == set(spans), doc.id


# --- the real corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "overlap"), SETTINGS)
@pytest.mark.parametrize("doc", CORPUS, ids=[d.id for d in CORPUS])
def test_invariants_hold_on_the_default_corpus(doc: Document, size: int, overlap: int) -> None:
    chunks = chunk_document(doc, size=size, overlap=overlap)

    assert_invariants(doc, chunks, size, overlap)


def test_consecutive_chunks_of_a_section_share_the_overlap_on_the_default_corpus() -> None:
    pairs = 0
    for doc in CORPUS:
        spans = sentences_of(doc)
        chunks = chunk_document(doc, size=DEFAULT_CHUNK_SIZE, overlap=DEFAULT_CHUNK_OVERLAP)
        for a, b in zip(chunks, chunks[1:], strict=False):
            if a.section != b.section:
                continue
            shared = set(sentences_in(a, spans)) & set(sentences_in(b, spans))
            assert len(shared) == DEFAULT_CHUNK_OVERLAP, (doc.id, a.text[-80:], b.text[:80])
            pairs += 1
    assert pairs > 20  # the corpus really has multi-chunk sections


def test_the_default_corpus_never_indexes_its_sources_sections() -> None:
    for doc in CORPUS:
        for chunk in chunk_document(doc):
            assert "Sources" not in chunk.section.split(SECTION_SEPARATOR)
            assert "https://" not in chunk.text, (doc.id, chunk.text[:80])


def test_default_corpus_chunks_have_their_sections() -> None:
    doc = next(d for d in CORPUS if d.id == "district-heating-coal-phase-out.md")

    sections = [c.section for c in chunk_document(doc)]

    assert sections[0] == ""  # the introduction under the H1 title
    assert "Coal ended in 2024, a year early" in sections
    assert doc.title not in " ".join(sections)


# --- synthetic texts ------------------------------------------------------------------------------


def numbered_sentences(n: int, prefix: str = "Sentence") -> str:
    return " ".join(f"{prefix} number {i} talks about Espoo." for i in range(1, n + 1))


@pytest.mark.parametrize("overlap", [0, 1, 2, 3])
def test_consecutive_chunks_share_exactly_overlap_sentences(overlap: int) -> None:
    doc = doc_of("## Only section\n\n" + numbered_sentences(30))
    spans = sentences_of(doc)

    chunks = chunk_document(doc, size=200, overlap=overlap)

    assert len(chunks) > 3
    assert_invariants(doc, chunks, 200, overlap)
    for a, b in zip(chunks, chunks[1:], strict=False):
        shared = set(sentences_in(a, spans)) & set(sentences_in(b, spans))
        assert len(shared) == overlap
        if overlap:
            assert sentences_in(b, spans)[:overlap] == sentences_in(a, spans)[-overlap:]


def test_chunks_do_not_overlap_across_sections() -> None:
    doc = doc_of(
        "## First\n\n"
        + numbered_sentences(8, "First")
        + "\n\n## Second\n\n"
        + numbered_sentences(8, "Second")
    )

    chunks = chunk_document(doc, size=200, overlap=1)

    first = [c for c in chunks if c.section == "First"]
    second = [c for c in chunks if c.section == "Second"]
    assert first and second and len(first) + len(second) == len(chunks)
    assert all("Second" not in c.text for c in first)
    assert all("First" not in c.text for c in second)


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    doc = doc_of(
        "Espoo, e.g. the city of 300,000 residents, cut emissions by 2.5 per cent. "
        "Dr. Mäkelä signed it. The U.S. city Palo Alto joined too."
    )

    texts = [doc.text[s.start : s.end] for s in split_sentences(doc.text)]

    assert texts == [
        "Espoo, e.g. the city of 300,000 residents, cut emissions by 2.5 per cent.",
        "Dr. Mäkelä signed it.",
        "The U.S. city Palo Alto joined too.",
    ]


def test_a_sentence_longer_than_size_is_its_own_chunk_unsplit() -> None:
    long = "The very long sentence " + "goes on and on " * 30 + "until it finally ends."
    doc = doc_of(f"Short one before. {long} Short one after. Another short one.")

    chunks = chunk_document(doc, size=120, overlap=1)

    assert len(long) > 120
    assert [c.text for c in chunks if long in c.text] == [long]
    assert chunks[0].text == "Short one before."
    assert any(c.text.startswith("Short one after.") for c in chunks)
    assert_invariants(doc, chunks, 120, 1)


def test_chunk_ids_are_stable() -> None:
    doc = doc_of("## A\n\n" + numbered_sentences(12) + "\n\n## B\n\n" + numbered_sentences(12))

    first = chunk_document(doc, size=200, overlap=1)
    again = chunk_document(doc_of(doc.text), size=200, overlap=1)

    assert [c.id for c in first] == [c.id for c in again]
    assert first == again


def test_changing_a_later_section_keeps_the_ids_of_earlier_chunks() -> None:
    early = "## Early\n\n" + numbered_sentences(12, "Early")
    doc = doc_of(early + "\n\n## Late\n\n" + numbered_sentences(6, "Late"))
    edited = doc_of(early + "\n\n## Late\n\n" + numbered_sentences(7, "Changed late"))

    before = chunk_document(doc, size=200, overlap=1)
    after = chunk_document(edited, size=200, overlap=1)

    early_before = [c.id for c in before if c.section == "Early"]
    early_after = [c.id for c in after if c.section == "Early"]
    assert len(early_before) > 1 and early_before == early_after
    assert {c.id for c in before if c.section == "Late"}.isdisjoint(
        c.id for c in after if c.section == "Late"
    )


def test_chunk_ids_depend_on_the_document() -> None:
    text = numbered_sentences(5)

    a = chunk_document(doc_of(text, id="a.md"))
    b = chunk_document(doc_of(text, id="sub/a.md"))

    assert a[0].text == b[0].text and a[0].id != b[0].id


def test_heading_paths_nest_and_pop() -> None:
    text = (
        "# Test document\n\nIntro text.\n\n"
        "## A\n\nText of A.\n\n"
        "### B\n\nText of B.\n\n"
        "#### C\n\nText of C.\n\n"
        "## D\n\nText of D.\n\n"
        "### E\n\nText of E.\n"
    )

    chunks = chunk_document(doc_of(text), size=600, overlap=1)

    assert [(c.section, c.text) for c in chunks] == [
        ("", "Intro text."),
        ("A", "Text of A."),
        ("A › B", "Text of B."),
        ("A › B › C", "Text of C."),
        ("D", "Text of D."),
        ("D › E", "Text of E."),
    ]


def test_an_h1_other_than_the_title_is_part_of_the_path() -> None:
    chunks = chunk_document(doc_of("# Part one\n\n## Goals\n\nGoal text.\n"))

    assert [c.section for c in chunks] == ["Part one › Goals"]


def test_empty_sections_make_no_chunks() -> None:
    chunks = chunk_document(doc_of("## Empty\n\n## Full\n\nSome text here.\n"))

    assert [(c.section, c.text) for c in chunks] == [("Full", "Some text here.")]


@pytest.mark.parametrize("heading", ["Sources", "sources", "References", "Lähteet"])
def test_reference_sections_are_not_indexed(heading: str) -> None:
    doc = doc_of(
        "## Content\n\nEspoo ended coal use in 2024.\n\n"
        f"## {heading}\n\n- https://www.espoo.fi/a (2024-03-04)\n- https://www.fortum.com/b\n"
    )

    chunks = chunk_document(doc, size=600, overlap=1)

    assert [c.text for c in chunks] == ["Espoo ended coal use in 2024."]


def test_subsections_of_a_sources_section_are_not_indexed() -> None:
    doc = doc_of(
        "## Content\n\nEspoo ended coal use in 2024.\n\n"
        "## Sources\n\n### Web pages\n\n- https://www.espoo.fi/a\n\n"
        "### News\n\n- https://yle.fi/b\n"
    )

    chunks = chunk_document(doc, size=600, overlap=1)

    assert [c.text for c in chunks] == ["Espoo ended coal use in 2024."]


def test_content_after_a_sources_section_is_indexed() -> None:
    doc = doc_of("## Sources\n\n- https://example.org\n\n## Later\n\nLater text.\n")

    assert [c.section for c in chunk_document(doc)] == ["Later"]


def test_list_items_and_lines_are_sentences() -> None:
    doc = doc_of("## Goals\n\n- cut emissions by 80%\n- plant trees\nNo full stop here\n")

    spans = [doc.text[s.start : s.end] for s in split_sentences(doc.text)]

    assert spans[-3:] == ["- cut emissions by 80%", "- plant trees", "No full stop here"]


def test_embedding_text_carries_title_and_section() -> None:
    chunk = chunk_document(doc_of("## A\n\n### B\n\nBody text.\n"))[0]

    assert chunk.embedding_text() == "Test document › A › B: Body text."


@pytest.mark.parametrize(("size", "overlap"), [(50, 0), (80, 1), (150, 2), (1000, 5)])
def test_invariants_hold_on_mixed_synthetic_text(size: int, overlap: int) -> None:
    text = (
        "# Test document\n\nEspoo is a city. It has 300,000 residents!\n\n"
        "## Transport\n\nThe metro opened in 2017. Was it late? Yes… it was. "
        "“City bikes” arrived (in 2017). The Jokeri line opened in Oct. 2023.\n"
        "- a list item without a full stop\n- another item\n\n"
        "### Costs\n\nThe line cost EUR 386 million. " + numbered_sentences(10) + "\n\n"
        "## Sources\n\n- https://example.org\n"
    )
    doc = doc_of(text)

    chunks = chunk_document(doc, size=size, overlap=overlap)

    assert_invariants(doc, chunks, size, overlap)
    assert {c.section for c in chunks} == {"", "Transport", "Transport › Costs"}
