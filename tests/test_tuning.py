"""The answer path's numbers live in one record that callers replace, not in module globals."""

from __future__ import annotations

import ast
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from assistant.answer.assistant import Assistant
from assistant.answer.retrieval import Retriever
from assistant.answer.tuning import DEFAULT, Tuning

ROOT = Path(__file__).resolve().parents[1]
#: The answer path's modules, whose numbers ``Tuning`` holds.
TUNED = sorted(p.stem for p in (ROOT / "assistant" / "answer").glob("*.py") if p.stem != "tuning")


def test_the_record_is_frozen_and_replaced_not_changed() -> None:
    with pytest.raises(FrozenInstanceError):
        DEFAULT.max_sentences = 1  # type: ignore[misc]
    shorter = replace(DEFAULT, max_sentences=1)
    assert shorter.max_sentences == 1 and DEFAULT.max_sentences == Tuning().max_sentences


def test_the_tuned_modules_keep_no_numeric_module_constants() -> None:
    """A number that steers answers is a field of ``Tuning``, where tests can replace it."""
    found = []
    for name in TUNED:
        tree = ast.parse((ROOT / "assistant" / "answer" / f"{name}.py").read_text("utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, int | float) and not isinstance(
                    node.value.value, bool
                ):
                    found.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    # a weights file's format and a cache size, not knobs that steer answers; the numbers that
    # define a trained model (a feature's cap; the reader's input length: changing them means
    # retraining); and the reader's ONNX Runtime threads and memory of pairs read (speed, not
    # answers)
    expected = ["FORMAT", "MAX_TOKENS", "MAX_UNKNOWN_WORDS", "MEMORY", "THREADS"]
    assert sorted(set(found)) == expected, found
    # the answerability model looks into as many sentences as an answer shows, no number of its own
    # (nor does the score unit: the gap to the first sentence an answer cannot show)
    from assistant.answer.answerability import TOP
    from assistant.evaluation.sentences import SPREAD_RANK

    assert TOP == SPREAD_RANK == DEFAULT.max_sentences
    assert {"language", "places", "conversation", "wording", "features"} <= set(TUNED)


def test_a_replaced_record_changes_how_a_question_is_read() -> None:
    from assistant.answer.places import other_places
    from assistant.answer.question import read_question

    # Kirkkonummi lies beyond the radius of Espoo's own districts; Kerava has fewer people
    # than a larger floor
    asked = "What are Kirkkonummi's emissions per resident?"
    assert other_places(asked) == ["Kirkkonummi"]
    assert other_places(asked, tuning=replace(DEFAULT, local_radius_km=30.0)) == []
    kerava = "What are Kerava's emissions per resident?"
    assert other_places(kerava) == ["Kerava"]
    assert other_places(kerava, tuning=replace(DEFAULT, town_population=40_000)) == []
    # the record reaches the question's reading
    wider = replace(DEFAULT, local_radius_km=30.0)
    assert read_question(asked, max_chars=200).places == ("Kirkkonummi",)
    assert read_question(asked, max_chars=200, tuning=wider).places == ()


@pytest.mark.slow
def test_a_replaced_record_changes_the_answers(default_index, embedder) -> None:  # type: ignore[no-untyped-def]
    settings, version = default_index
    question = "When will Espoo be carbon neutral?"
    usual = Assistant(settings, version, Retriever(embedder)).ask(question)
    one = Assistant(
        settings, version, Retriever(embedder, tuning=replace(DEFAULT, max_sentences=1))
    )
    short = one.ask(question)
    assert not usual.refused and not short.refused
    assert short.text.count("[") == 1 < usual.text.count("[")
    assert one.tuning.max_sentences == 1 and one._scorer.tuning is one.tuning
