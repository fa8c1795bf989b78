"""Typing slips: a question word the corpus never uses stands for the corpus word one slip away
(``wording.mended``)."""

from __future__ import annotations

import pytest
from conftest import assistant_with

from assistant.answer.wording import coverage, mended, weighted_terms

IDF = ({"neutral": 2.0, "carbon": 1.5, "neutron": 6.0, "emiss": 1.0, "emission": 3.0}, 7.0)


def test_a_word_one_slip_from_a_corpus_word_stands_for_it() -> None:
    found = mended("when will espoo be carbon nuetral", IDF)  # two letters swapped
    assert found == {"nuetral": (frozenset({"neutral"}),)}
    assert mended("carbon neutrl", IDF) == {"neutrl": (frozenset({"neutral"}),)}  # one left out
    # a word the corpus knows is left alone, and one two slips from any is not mended
    assert mended("carbon neutral", IDF) == {}
    assert mended("nuetrla", IDF) == {}


def test_of_several_words_one_slip_away_the_most_common_wins() -> None:
    # "neutrol" is one slip from both "neutral" (IDF 2.0) and "neutron" (6.0)
    assert mended("neutrol", IDF) == {"neutrol": (frozenset({"neutral"}),)}


def test_a_mended_word_weighs_and_counts_as_its_corpus_word() -> None:
    alternatives = mended("carbon nuetral", IDF)
    weights = weighted_terms("carbon nuetral", IDF, alternatives)
    assert weights["nuetral"] == IDF[0]["neutral"]
    assert coverage(weights, {"carbon", "neutral"}, alternatives) == pytest.approx(1.0)
    assert coverage(weights, {"carbon", "neutral"}) < 1.0  # without it, half is missing


@pytest.mark.slow
def test_a_question_with_typos_is_answered(default_index, embedder) -> None:  # type: ignore[no-untyped-def]
    assistant = assistant_with(default_index, embedder)
    answer = assistant.ask("wen will espoo be carbon nuetral")
    assert not answer.refused and "2030" in answer.text
