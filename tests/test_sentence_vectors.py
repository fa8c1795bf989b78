"""Sentence vectors pooled from each passage's own model pass ("late chunking"), stored per version.

The answer step compares the question with every sentence of the retrieved passages; these tests
check the vectors it reads are complete, faithful to the model and carried over by incremental
builds, and that answering needs no model call beyond the question's embedding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CountingEmbedder, DefaultIndex, copy_default_documents

from assistant.answer.assistant import Assistant
from assistant.answer.retrieval import Retriever
from assistant.config import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MINILM_MODEL
from assistant.embed.base import Embedder, embed_with_spans, pool_spans
from assistant.index.build import build_index
from assistant.index.store import current_version_dir, load_version
from assistant.ingest.chunking import answer_units

PASSAGE = (
    "Carbon neutrality › Goals: Espoo aims to be carbon neutral by 2030. The city uses a roadmap "
    "and a climate action plan to get there. Coal use in district heating ended in April 2024."
)


def _spans(text: str) -> list[tuple[int, int]]:
    body = text.split(": ", 1)[1]
    shift = len(text) - len(body)
    return [(u.start + shift, u.end + shift) for u in answer_units(body)]


def test_pool_spans_averages_only_the_tokens_inside_each_span() -> None:
    tokens = np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [3.0, 0.0], [9.0, 9.0]])
    offsets = [(0, 0), (0, 4), (5, 9), (10, 14), (0, 0)]  # special tokens at both ends
    pooled = pool_spans(tokens, offsets, [(0, 9), (10, 14), (20, 30)])
    np.testing.assert_allclose(pooled[0], np.array([1.0, 1.0]) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(pooled[1], [1.0, 0.0], atol=1e-6)
    assert not pooled[2].any(), "a span with no tokens (cut off by the length limit) is empty"


def test_one_pass_gives_the_passage_vector_and_close_sentence_vectors(
    minilm_embedder: Embedder,
) -> None:
    embedder = minilm_embedder  # late chunking is MiniLM's; e5 encodes sentences on their own
    spans = _spans(PASSAGE)
    assert len(spans) == 3
    vectors, pooled = embed_with_spans(embedder, [PASSAGE], [spans])
    np.testing.assert_allclose(vectors, embedder.encode([PASSAGE]), atol=1e-5)
    assert pooled[0].shape == (3, embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(pooled[0], axis=1), 1.0, atol=1e-5)
    unrelated = "Shared city bikes can be rented from April to October."
    alone = embedder.encode([PASSAGE[a:b] for a, b in spans] + [unrelated])
    similarity = pooled[0] @ alone.T
    # Pooled vectors carry their passage's context, yet each sentence on its own is best
    # represented by its own pooled vector, and every one is far from an unrelated sentence.
    assert list(similarity[:, :3].argmax(axis=0)) == [0, 1, 2]
    assert similarity.diagonal().min() > 2 * similarity[:, 3].max()


def test_sentences_past_the_length_limit_are_encoded_on_their_own(embedder: Embedder) -> None:
    tail = "The last sentence mentions Nuuksio National Park."
    text = "Long: " + "filler words here. " * 200 + tail
    start = text.index(tail)
    _, pooled = embed_with_spans(embedder, [text], [[(6, 24), (start, len(text))]])
    np.testing.assert_allclose(pooled[0][1], embedder.encode([tail])[0], atol=1e-5)
    assert pooled[0][0].any()


def test_a_sentence_two_passages_share_is_encoded_once(embedder: Embedder) -> None:
    # the chunk overlap repeats a passage's last sentence at the start of the next one
    shared = "Espoo aims to be carbon neutral by 2030."
    texts = [f"Goals: The city has a roadmap. {shared}", f"Roadmap: {shared} It lists actions."]
    spans = [[(t.index(shared), t.index(shared) + len(shared))] for t in texts]
    seen: list[str] = []

    class Recording:  # the real model, recording what it is given; it encodes sentences alone
        model_id, dimension = embedder.model_id, embedder.dimension
        prompts = {"query": "query: ", "passage": "passage: "}

        def encode(self, batch: list[str], **options: object) -> np.ndarray:
            seen.extend(batch)
            return embedder.encode(batch, **options)  # type: ignore[arg-type]

    _, pooled = embed_with_spans(Recording(), texts, spans)  # type: ignore[arg-type]
    assert seen.count(shared) == 1
    np.testing.assert_array_equal(pooled[0][0], pooled[1][0])
    np.testing.assert_allclose(pooled[0][0], embedder.encode([shared])[0], atol=1e-5)


@pytest.mark.slow
def test_every_answer_unit_of_every_chunk_has_a_stored_vector(
    default_index: DefaultIndex,
) -> None:
    version = default_index.version
    assert len(version.sentences) > len(version.chunks)
    for fid, chunk in version.chunks.items():
        offsets, vectors = version.sentences.of(fid)
        expected = [(u.start, u.end) for u in answer_units(chunk.text)]
        assert [tuple(map(int, o)) for o in offsets] == expected, chunk.id
        assert vectors.shape == (len(expected), version.manifest.dimension)
        norms = np.linalg.norm(vectors.astype(np.float32), axis=1)
        np.testing.assert_allclose(norms, 1.0, atol=2e-3)  # stored as float16


@pytest.mark.slow
def test_an_incremental_build_carries_sentence_vectors_over(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = copy_default_documents(
        tmp_path / "docs", "city-bikes.md", "jokeri-light-rail.md", "waste-management-ammassuo.md"
    )
    index = tmp_path / "index"

    def build(counting: CountingEmbedder) -> None:
        build_index(
            documents_dir=docs,
            index_dir=index,
            embedder=counting,
            chunk_size=DEFAULT_CHUNK_SIZE,
            chunk_overlap=DEFAULT_CHUNK_OVERLAP,
        )

    build(CountingEmbedder(embedder))
    old = load_version(current_version_dir(index))  # type: ignore[arg-type]
    before = {old.chunks[f].id: old.sentences.of(f) for f in old.chunks}
    path = docs / "city-bikes.md"
    text = path.read_text(encoding="utf-8")
    assert "about 2.5 million trips" in text
    path.write_text(text.replace("about 2.5 million", "about 2.9 million"), encoding="utf-8")
    counting = CountingEmbedder(embedder)
    build(counting)
    new = load_version(current_version_dir(index))  # type: ignore[arg-type]

    assert 0 < len(counting.texts) < len(new.chunks)
    kept = 0
    for fid, chunk in new.chunks.items():
        offsets, vectors = new.sentences.of(fid)
        if chunk.id in before and chunk.embedding_text() not in counting.texts:
            np.testing.assert_array_equal(offsets, before[chunk.id][0])
            np.testing.assert_array_equal(vectors, before[chunk.id][1])
            kept += 1
        else:
            assert len(offsets) == len(answer_units(chunk.text))
    assert kept > 0


@pytest.mark.slow
def test_an_answer_embeds_only_the_question(
    default_index: DefaultIndex, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder, prompts=getattr(embedder, "prompts", {}))
    settings, version = default_index
    assistant = Assistant(settings, version, Retriever(counting))
    # e5 (the default) reads the question twice: as a query, and as a passage (its twin).
    assert counting.prompts["query"] != counting.prompts["passage"]
    for question in ("when will espoo be carbon neutral", "how long is the jokeri light rail"):
        counting.reset()
        answer = assistant.ask(question)
        assert not answer.refused
        assert counting.calls == [1, 1], "one model call per reading of the question"
        assert sorted(counting.roles) == ["passage", "query"]  # read side by side (start_twin)
    # A word the corpus lacks is encoded once, to find the corpus words near it; then remembered.
    for calls in ([1, 1, 1], [1, 1]):
        counting.reset()
        assistant.ask("how long is the jokeri tramline")
        assert counting.calls == calls
    assert counting.words == ["how long is the jokeri tramline"] * 2


@pytest.mark.parametrize("backend", ["onnx"])
@pytest.mark.slow
def test_onnx_sentence_vectors_match_torch(
    backend: str, torch_minilm: Embedder, tmp_path: Path
) -> None:
    from assistant.embed.factory import create_embedder

    other = create_embedder(MINILM_MODEL, backend, cache_dir=tmp_path)
    spans = _spans(PASSAGE)
    _, expected = embed_with_spans(torch_minilm, [PASSAGE], [spans])
    _, got = embed_with_spans(other, [PASSAGE], [spans])
    assert (got[0] * expected[0]).sum(axis=1).min() >= 0.9999
