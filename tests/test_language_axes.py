"""Language axes: a Finnish or Swedish question finds the English passage that answers it.

multilingual-e5-small keeps each language's texts together; the build measures the directions
that tell the corpus's languages apart, and the retriever scores each passage by the better of
its cosine with the question and with the question projected off them.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DefaultIndex

from assistant.answer.retrieval import Retriever
from assistant.embed.base import Embedder
from assistant.index.languages import MIN_PASSAGES, language_axes, neutral


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def test_the_axes_remove_what_tells_two_languages_apart() -> None:
    rng = np.random.default_rng(1)
    topic_a, topic_b, finnish, english = unit(rng.normal(size=(4, 64)))
    half = MIN_PASSAGES // 2

    def passages(topic: np.ndarray, language: np.ndarray) -> np.ndarray:
        return topic + 1.5 * language + 0.2 * rng.normal(size=(half, 64))

    # each language writes about both topics, as the corpus's do
    vectors = unit(
        np.vstack([passages(t, lang) for lang in (finnish, english) for t in (topic_a, topic_b)])
    )
    axes = language_axes(vectors, ["fi"] * 2 * half + ["en"] * 2 * half)
    question = unit(topic_b + 1.5 * finnish)  # Finnish, about B
    finnish_on_a, english_on_b = unit(topic_a + 1.5 * finnish), unit(topic_b + 1.5 * english)

    assert axes.shape == (1, 64) and np.allclose(np.linalg.norm(axes, axis=1), 1.0, atol=1e-5)
    assert question @ finnish_on_a > question @ english_on_b  # the language wins...
    projected = neutral(question[None], axes)[0]
    assert projected @ finnish_on_a < projected @ english_on_b  # ...until it is projected out
    assert np.isclose(np.linalg.norm(projected), 1.0, atol=1e-5)
    assert np.allclose(neutral(projected[None], axes)[0], projected, atol=1e-5)  # idempotent


@pytest.mark.parametrize(
    "languages",
    [["en"] * 2 * MIN_PASSAGES, ["fi"] * MIN_PASSAGES + ["en"] * (MIN_PASSAGES - 1)],
)
def test_no_axes_without_two_languages_of_enough_passages(languages: list[str]) -> None:
    vectors = unit(np.random.default_rng(2).normal(size=(len(languages), 16)))

    axes = language_axes(vectors, languages)

    assert axes.shape == (0, 16)
    assert np.array_equal(neutral(vectors[:1], axes), vectors[:1])


@pytest.mark.slow  # builds the default corpus with the real model (once per session)
@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("När grundade Esbo sin översvämningsgrupp?", "flood group"),
        ("Milloin Espoo perusti tulvaryhmän?", "flood group"),
    ],
)
def test_a_question_finds_the_english_passage_that_answers_it(
    default_index: DefaultIndex, embedder: Embedder, question: str, needle: str
) -> None:
    """The default corpus has flood preparedness in English only; without the axes e5 ranks
    dozens of Finnish or Swedish passages on other topics above it."""
    _, version = default_index
    assert len(version.manifest.language_axes or []) == 2  # en, fi, sv: two differences

    def rank(mode: str) -> int:
        found = Retriever(embedder, language_neutral=mode).search(
            version, question, k=len(version), mode="dense", diversify=False
        )
        return next(i for i, h in enumerate(found.hits) if needle in h.chunk.text)

    assert rank("auto") <= 2  # e5 has query/passage prompts: "auto" is on
    assert rank("off") > 10


@pytest.mark.slow  # the default corpus's index, built once per session
def test_a_passage_in_the_questions_language_keeps_its_place(
    default_index: DefaultIndex, embedder: Embedder
) -> None:
    """The language a passage shares with the question is evidence too: Finnish passages on the
    carbon-neutrality goal still come first for a Finnish question about it."""
    _, version = default_index
    found = Retriever(embedder, language_neutral="on").search(
        version, "Milloin Espoo aikoo olla hiilineutraali?", k=3, mode="dense", diversify=False
    )

    assert [h.chunk.language for h in found.hits] == ["fi", "fi", "fi"]
    assert any("2030" in h.chunk.text for h in found.hits)
