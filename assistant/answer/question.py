"""The question, read once: what every later step needs to know about it, in one frozen record.

``read_question`` cleans the text, joins it with the previous exchange for retrieval (noting
whether it may also stand alone), and reads the cues (what kind of answer is asked for, now or
the past, years and places named, the language). Retrieval, evidence scoring, composition and
refusals all read this record; none parses the question again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..text import DIGITS, content_terms, respell, years
from .conversation import (
    Turn,
    asks_for_live_information,
    asks_to_override,
    clean_question,
    points_back,
    retrieval_query,
)
from .cues import asked_kinds, asks_cost, asks_figure, asks_for_latest, counted
from .language import question_language
from .places import other_places
from .tuning import DEFAULT, Tuning


@dataclass(frozen=True)
class Question:
    """A resident's question and what its wording says about the answer wanted."""

    #: The question as asked, on one line, cut to the length limit.
    text: str
    #: What retrieval reads: the text, joined with the previous exchange for a follow-up.
    query: str
    #: The topic-bearing stems of the text (``text.content_terms``).
    terms: tuple[str, ...] = ()
    #: The shapes of what it asks for: a date, a number, a name, a place, an amount (``cues``).
    kinds: tuple[re.Pattern[str], ...] = ()
    #: It asks what something costs (``cues.asks_cost``): an amount of money answers it.
    cost: bool = False
    #: The stem of what it counts, if it asks for a quantity (``cues.counted``): "visitor".
    counted: str = ""
    #: It asks for a figure: a quantity, or a rate or figure by name (``cues.asks_figure``).
    figure: bool = False
    #: It asks for the current state ("now", "latest").
    latest: bool = False
    #: The years it names ("emissions in 2010").
    years: frozenset[int] = frozenset()
    #: Towns and countries other than Espoo that it names.
    places: tuple[str, ...] = ()
    #: The language it is written in: 'en', 'fi' or 'sv' (``language.question_language``).
    language: str = "en"
    #: It wants live information (tomorrow's weather, the next metro): no document has it.
    live: bool = False
    #: It tries to change the assistant's instructions ("ignore your previous instructions").
    override: bool = False
    #: A follow-up that names no pronoun or "what about" may also be a new question: the
    #: assistant reads it both ways and keeps the reading the documents answer better.
    may_stand_alone: bool = False

    @property
    def words(self) -> frozenset[str]:
        """Its topic stems and the numbers it names: a sentence with no other only restates it."""
        return frozenset({*self.terms, *DIGITS.findall(self.text)})

    @property
    def follow_up(self) -> bool:
        """Whether the previous exchange joined the retrieval query."""
        return self.query != self.text


def read_question(
    raw: str,
    history: Sequence[Turn | dict[str, str]] = (),
    *,
    max_chars: int,
    language: str = "",
    only_in: Mapping[str, str] = {},
    spellings: Mapping[str, str] = {},
    tuning: Tuning = DEFAULT,
) -> Question:
    """Read ``raw`` (with the recent ``history``) once. ``language`` is the interface's (it
    decides for a question too short to tell); ``only_in`` maps the words that documents of one
    language alone use to that language (``LexicalIndex.only_in``); ``spellings`` the words
    typed without ä, ö and å to the documents' spelling (``LexicalIndex.respellings``);
    ``tuning`` the numbers of the language and place cues."""
    text = respell(clean_question(raw, max_chars), spellings)
    written_in = question_language(text, language, only_in)
    return Question(
        text=text,
        query=(query := retrieval_query(text, history) if text else text),
        may_stand_alone=query != text and not points_back(text),
        terms=tuple(content_terms(text, written_in)),
        kinds=tuple(asked_kinds(text)),
        cost=asks_cost(text),
        counted=counted(text, written_in),
        figure=asks_figure(text),
        latest=asks_for_latest(text),
        years=frozenset(years(text)),
        places=tuple(other_places(text, written_in, tuning=tuning)),
        language=written_in,
        live=asks_for_live_information(text),
        override=asks_to_override(text),
    )
