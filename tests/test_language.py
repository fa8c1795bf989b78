"""Questions in Finnish or Swedish: detected, and told in their language to ask in English."""

from __future__ import annotations

import pytest

from assistant.answer.conversation import REFUSAL_START
from assistant.answer.language import ASK_IN_ENGLISH, question_language

#: Stems of a few corpus words (the real check passes the index's vocabulary).
VOCABULARY = {"espoo", "espoon", "esbo", "nuuksio", "park", "ämmässuo", "light", "rail"}


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("milloin espoo on hiilineutraali?", "fi"),
        ("paljonko espoossa on asukkaita", "fi"),
        ("mikä on espoon hiilijalanjälki asukasta kohden", "fi"),
        ("när blir esbo koldioxidneutral?", "sv"),
        ("var kan jag lämna mitt avfall i esbo", "sv"),
        ("when will espoo be carbon neutral?", ""),
        ("whats the symbol animal of nuuksio park", ""),  # English naming Finnish places
        ("ämmässuo kaatopaikka", ""),  # too short to tell
        ("Ämmässuo", ""),
    ],
)
def test_question_language(question: str, language: str) -> None:
    assert question_language(question, VOCABULARY) == language


def test_a_finnish_question_is_refused_in_finnish_too(default_index, embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.answer.assistant import Assistant
    from assistant.answer.retrieval import Retriever

    settings, version = default_index
    assistant = Assistant(settings, version, Retriever(embedder))
    finnish = assistant.ask("mihin espoon jätteet menevät")
    assert finnish.refused and finnish.text.startswith(REFUSAL_START)
    assert ASK_IN_ENGLISH["fi"] in finnish.text and "in English" in finnish.text
    english = assistant.ask("Give me a recipe for lasagna with béchamel")
    assert english.refused
    assert not any(message in english.text for message in ASK_IN_ENGLISH.values())
