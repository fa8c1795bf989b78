"""Search quality on the default corpus, with the real model and the real index."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import DOCUMENTS, DefaultIndex

from assistant.answer.retrieval import Hit, Retriever, diversified
from assistant.answer.tuning import DEFAULT
from assistant.embed.base import Embedder
from assistant.ingest.chunking import Chunk
from assistant.ingest.documents import load_documents

MAX_PER_DOCUMENT = DEFAULT.max_per_document

# Paraphrased questions (few words shared with the documents) and the document(s) that answer them.
QUESTIONS = [
    pytest.param(
        "When did Espoo stop burning coal for district heat?",
        {"district-heating-coal-phase-out.md"},
        id="coal-phase-out",
    ),
    pytest.param(
        "How many shared bicycles and stations were there in the first pilot?",
        {"city-bikes.md"},
        id="city-bikes",
    ),
    pytest.param(
        "What is the tram line between Espoo and Helsinki, and when did it open?",
        {"jokeri-light-rail.md"},
        id="jokeri-light-rail",
    ),
    pytest.param(
        "Where is the capital region's rubbish treated and turned into biogas?",
        {"waste-management-ammassuo.md"},
        id="ammassuo-waste",
    ),
    pytest.param(
        "Which cities were chosen in 2018 together with Espoo as pioneers of the UN "
        "sustainable development goals?",
        {"un-sdg-forerunner-city.md", "espoo-un-sdg-pioneer-2018.txt"},
        id="un-sdg-2018",
    ),
    pytest.param(
        "How far west did the metro extension go in 2022?",
        {"west-metro-and-city-rail-link.md"},
        id="west-metro",
    ),
    pytest.param(
        "What is the national park in Espoo's forests like?",
        {"forests-and-nuuksio.md"},
        id="nuuksio",
    ),
    pytest.param(
        "How much heat do Microsoft's server halls supply?",
        {"waste-heat-data-centres-geothermal.md"},
        id="data-centre-heat",
    ),
    pytest.param(
        "What are the emissions caused by what Espoo residents consume?",
        {"consumption-based-carbon-footprint.md"},
        id="consumption-footprint",
    ),
    pytest.param(
        "How is Espoo preparing for floods and storms?",
        {"climate-adaptation.md"},
        id="climate-adaptation",
    ),
]


@pytest.fixture(scope="module")
def retriever(embedder: Embedder) -> Retriever:
    return Retriever(embedder)


@pytest.mark.slow
def test_the_whole_default_corpus_is_indexed(default_index: DefaultIndex) -> None:
    docs, skipped = load_documents(DOCUMENTS)
    settings, version = default_index

    assert skipped == [] and default_index.report.skipped == []
    assert set(version.manifest.documents) == {d.id for d in docs}
    assert {c.document for c in version.chunks.values()} == {d.id for d in docs}
    assert version.manifest.model == settings.model
    assert version.vectors.ntotal == len(version) == default_index.report.chunks


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
@pytest.mark.slow
def test_search_finds_the_right_document(
    default_index: DefaultIndex, retriever: Retriever, question: str, expected: set[str]
) -> None:
    result = retriever.search(default_index.version, question, k=5)

    documents = [h.chunk.document for h in result.hits]
    assert documents[0] in expected, documents
    assert result.version == default_index.version.name


@pytest.mark.parametrize("mode", ["dense", "lexical"])
@pytest.mark.slow
def test_each_retriever_alone_finds_the_coal_document(
    default_index: DefaultIndex, retriever: Retriever, mode: str
) -> None:
    hits = retriever.search(
        default_index.version,
        "coal-fired district heating unit at Suomenoja closed",
        k=3,
        mode=mode,
    ).hits

    assert hits[0].chunk.document == "district-heating-coal-phase-out.md"
    assert "Suomenoja" in hits[0].chunk.text


@pytest.mark.slow
def test_both_relevant_documents_of_the_un_question_are_found(
    default_index: DefaultIndex, retriever: Retriever
) -> None:
    hits = retriever.search(
        default_index.version,
        "Espoo and Aalto University chosen as UN SDG pioneers in July 2018",
        k=5,
    ).hits

    assert {"un-sdg-forerunner-city.md", "espoo-un-sdg-pioneer-2018.txt"} <= {
        h.chunk.document for h in hits
    }


@pytest.mark.parametrize(
    "question",
    [
        "Jokeri light rail",
        "How is Espoo preparing for floods and storms?",
        "What is the consumption-based carbon footprint of an Espoo resident?",
        "When did Espoo stop burning coal for district heat?",
    ],
)
@pytest.mark.slow
def test_top_five_is_diversified_across_documents(
    default_index: DefaultIndex, retriever: Retriever, question: str
) -> None:
    version = default_index.version

    undiversified = retriever.search(version, question, k=5, diversify=False).hits
    diversified = retriever.search(version, question, k=5).hits

    # the question has one dominant document, so diversity is really being enforced
    assert max(Counter(h.chunk.document for h in undiversified).values()) > MAX_PER_DOCUMENT
    counts = Counter(h.chunk.document for h in diversified)
    assert len(diversified) == 5
    assert max(counts.values()) <= MAX_PER_DOCUMENT
    assert len(counts) >= -(-5 // MAX_PER_DOCUMENT)  # the cap forces this many documents
    assert diversified[0].faiss_id == undiversified[0].faiss_id


def _hit(document: str, score: float, faiss_id: int) -> Hit:
    chunk = Chunk(f"c{faiss_id}", document, document, "", f"text {faiss_id}", 0, 6)
    return Hit(chunk, score, score, 0.0, faiss_id)


def test_held_back_passages_join_only_when_they_outscore_the_last_one_taken() -> None:
    # document "a" has five strong passages; the cap lets three into the top five
    hits = [_hit("a", s, i) for i, s in enumerate([0.9, 0.85, 0.8, 0.7, 0.4, 0.65])]
    hits += [_hit("b", 0.75, 10), _hit("c", 0.6, 11), _hit("d", 0.5, 12)]
    hits.sort(key=lambda h: -h.score)

    plain = diversified(hits, 5)
    assert [h.faiss_id for h in plain] == [0, 1, 2, 10, 11]

    more = diversified(hits, 5, held_back=3)
    # a's passages of 0.7 and 0.65 outscore the last taken (0.6); its 0.4 does not
    assert [h.faiss_id for h in more] == [0, 1, 2, 10, 11, 3, 5]
    assert diversified(hits, 5, held_back=1) == more[:-1]


@pytest.mark.slow
def test_hits_carry_citable_metadata(default_index: DefaultIndex, retriever: Retriever) -> None:
    hits = retriever.search(default_index.version, "city bike trips in 2019", k=5).hits

    top = hits[0]
    assert top.chunk.document == "city-bikes.md"
    assert top.chunk.title == "City bikes in Espoo"
    assert top.chunk.section == "City bike use in 2019"
    assert top.chunk.source.startswith("https://www.hsl.fi/")
    assert top.chunk.date == "2025-10-29"
    assert all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.slow
def test_the_text_document_is_searchable_with_its_sidecar_metadata(
    default_index: DefaultIndex, retriever: Retriever
) -> None:
    hits = retriever.search(
        default_index.version, "Mayor Jukka Mäkelä says Espoo's best resources are its people", k=5
    ).hits

    press = [h for h in hits if h.chunk.document == "espoo-un-sdg-pioneer-2018.txt"]
    assert press, [h.chunk.document for h in hits]
    assert press[0].chunk.date == "2018-07-17"
    assert press[0].chunk.title.startswith("Espoo to become a forerunner")


@pytest.mark.slow
def test_dense_scores_are_cosine_similarities(
    default_index: DefaultIndex, retriever: Retriever, embedder: Embedder
) -> None:
    version = default_index.version
    query = embedder.encode(["Ämmässuo eco-industrial centre"])
    (pairs,) = version.dense_search(query, 3)

    for fid, score in pairs:
        vector = version.vectors_of([fid])[0]
        assert abs(float(vector @ query[0]) - score) < 1e-5
        assert -1.0 <= score <= 1.0
    assert version.chunks[pairs[0][0]].document == "waste-management-ammassuo.md"
