"""Composition: the extractive answer built from scored sentences, and its numbered citations.

``compose`` picks 1-3 complementary sentences (the best one, and those that score within
``Tuning.join_gap`` of it, in the asker's language, the best one's or English, when they neither
only repeat an answer already given nor say what a chosen one says). Within one unit of the
learned score (the training questions' average gap between the best and the fourth best
sentence), the sentence right after the best joins too, and one of its section holding the kind
of answer asked for when none does; for a question that asks only for a date or a quantity, only the
sentences that state one follow the best. A best sentence marked as replaced never answers
alone: the nearest sentence of its passage that names a later year joins and leads. The answer
leads with the best one (unless it is marked as replaced, and reports on no year the question
names, or, for a question about the present, is older than another), orders its
sources and marks every sentence with its source's ``[n]``. Another document's near-duplicate of
a chosen sentence is not repeated: that document is cited beside it ("... by 2030 [1][3]").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..text import DIGITS, content_terms, tokenize
from .cues import EXACT_SHAPES, MONEY_SHAPE, answer_values, latest_year, statement_year
from .evidence import Candidate
from .features import FEATURES
from .retrieval import Hit
from .tuning import DEFAULT, Tuning


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: where it comes from and the quoted supporting sentences."""

    n: int
    title: str
    source: str
    date: str
    section: str
    page: int | None
    document: str
    text: str
    quotes: tuple[str, ...] = ()
    chunk_id: str = ""
    #: The language of the source ("en", "fi", "sv").
    language: str = "en"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["quotes"] = list(self.quotes)
        return data


def compose(
    ranked: list[Candidate],
    hits: list[Hit],
    *,
    latest_first: bool = False,
    wanted: Sequence[re.Pattern[str]] = (),
    tuning: Tuning = DEFAULT,
    language: str = "",
    asked_years: frozenset[int] = frozenset(),
    cost: bool = False,
    asked_words: frozenset[str] = frozenset(),
) -> tuple[str, tuple[Citation, ...]]:
    """Pick 1-3 complementary sentences and number their sources; text carries ``[n]`` markers
    (a sentence that another document states too carries that document's as well).

    With ``latest_first`` (the question asks for the current state) the sources are ordered by
    the latest year their quoted sentences report on, newest first. ``wanted`` holds the shapes
    of what the question asks for (``cues.asked_kinds``): an answer holds one when it can. A
    chosen sentence that a passage in ``language`` (the asker's) also states, with all its
    numbers, is quoted in that language, its own source cited beside it. A statement marked as
    replaced that reports on a year in ``asked_years`` (the question's) is not ranked as replaced:
    "per-capita emissions in 1990?" is answered by the older programme's 1990 figure. An answer
    to a question that asks what something ``cost``\ s states an amount of money when it can.
    """
    best = ranked[0]
    chosen = [best]
    also: dict[tuple[int, int], list[Candidate]] = {}
    # Further sentences are in the asker's language, the best one's or English (which the answer's
    # note names when it quotes it): an answer to an English question does not go on in Finnish.
    spoken = {best.hit.chunk.language, language or best.hit.chunk.language, "en"}
    for cand in ranked[1:]:
        if len(chosen) == tuning.max_sentences or cand.score < best.score - tuning.join_gap:
            break
        if cand.hit.chunk.language not in spoken:
            continue
        same = next((c for c in chosen if cand.redundant_with(c)), None)
        if same is not None:
            _cite_also(same, cand, also)
            continue
        if repeats_answer(cand, chosen, wanted):
            continue
        chosen.append(cand)
    chosen = _completed(chosen, ranked, wanted, cost=cost, asked_words=asked_words, tuning=tuning)
    if language:
        chosen = [_in_language(c, ranked, chosen, language, also) for c in chosen]
    _cite_translations(chosen, ranked, also)
    # Sources in order of their best sentence (the ranker weighs recency), a statement marked as
    # replaced after the ones that are not.
    order: list[int] = []

    def rank(c: Candidate) -> tuple[bool, int, float]:
        reported = statement_year(c.text, c.hit.chunk.date)
        return c.superseded and reported not in asked_years, -reported * latest_first, -c.score

    ranking = sorted(chosen, key=rank)
    # The best sentence leads the answer (a statement marked as replaced, or for a question
    # about the present an older one, only when there is no other), and its source is the first.
    lead = min(chosen, key=rank)
    for cand in [lead, *ranking]:
        if cand.hit_index not in order:
            order.append(cand.hit_index)
    duplicates = [d for c in ranking for d in also.get((c.hit_index, c.start), [])]
    order += dict.fromkeys(d.hit_index for d in duplicates if d.hit_index not in order)
    number = {hit_index: n for n, hit_index in enumerate(order, start=1)}
    chosen.sort(key=lambda c: (c is not lead, number[c.hit_index], c.start))

    def markers(c: Candidate) -> str:
        others = sorted({number[d.hit_index] for d in also.get((c.hit_index, c.start), [])})
        own = number[c.hit_index]
        return "".join(f"[{n}]" for n in dict.fromkeys([own, *others]))

    text = " ".join(f"{c.text} {markers(c)}" for c in chosen)
    quoted = [*chosen, *(d for c in chosen for d in also.get((c.hit_index, c.start), []))]
    citations = tuple(
        citation_for(
            number[i], hits[i], tuple(dict.fromkeys(c.text for c in quoted if c.hit_index == i))
        )
        for i in order
    )
    return text, citations


def _completed(
    chosen: list[Candidate],
    ranked: list[Candidate],
    wanted: Sequence[re.Pattern[str]],
    *,
    cost: bool,
    asked_words: frozenset[str],
    tuning: Tuning,
) -> list[Candidate]:
    """``chosen`` with what completes it: the sentence after the best, what replaced a replaced
    statement, a sentence holding the kind of answer asked for (an amount of money for a
    ``cost``), and without further sentences that state no such thing."""
    chosen = _with_current(_with_following(chosen, ranked, asked_words, tuning), ranked, wanted)
    chosen = chosen[: tuning.max_sentences]
    if wanted:
        chosen = _only_what_answers(_holding_kind(chosen, ranked, wanted, tuning), wanted)
    if cost:
        chosen = _holding_kind(chosen, ranked, (MONEY_SHAPE,), tuning)
    return chosen


def _cite_translations(
    chosen: list[Candidate],
    ranked: list[Candidate],
    also: dict[tuple[int, int], list[Candidate]],
) -> None:
    """A chosen sentence's translation (however it scored) is cited beside it: one document in
    each other language, so a Swedish answer shows its Finnish and English sources too."""
    for kept in chosen:
        cited = also.get((kept.hit_index, kept.start), [])
        languages = {kept.hit.chunk.language, *(d.hit.chunk.language for d in cited)}
        for cand in ranked:
            language = cand.hit.chunk.language
            if language not in languages and cand.redundant_with(kept):
                _cite_also(kept, cand, also)
                languages.add(language)


def _cite_also(
    kept: Candidate, duplicate: Candidate, also: dict[tuple[int, int], list[Candidate]]
) -> None:
    """Another document's near-duplicate of a chosen sentence is not said twice: that document
    is cited beside the sentence instead ("... by 2030 [1][3]"), when it states the same
    numbers: one that leaves out the sentence's "2050" does not vouch for it."""
    if set(DIGITS.findall(kept.text)) != set(DIGITS.findall(duplicate.text)):
        return
    cited = also.setdefault((kept.hit_index, kept.start), [])
    documents = {kept.hit.chunk.document, *(d.hit.chunk.document for d in cited)}
    if duplicate.hit.chunk.document not in documents:
        cited.append(duplicate)


def _in_language(
    sentence: Candidate,
    ranked: list[Candidate],
    chosen: list[Candidate],
    language: str,
    also: dict[tuple[int, int], list[Candidate]],
) -> Candidate:
    """``sentence``, or its near-duplicate in ``language`` when it is in another language and
    the duplicate states all its numbers and holds as many kinds of answer asked for (it takes
    the sentence's place and score; the sentence is cited beside it)."""
    if sentence.hit.chunk.language == language:
        return sentence
    numbers = set(DIGITS.findall(sentence.text))
    for cand in ranked:
        if (
            cand.hit.chunk.language == language
            and cand not in chosen
            and numbers <= set(DIGITS.findall(cand.text))
            and _kinds_held(cand) >= _kinds_held(sentence)
            and cand.redundant_with(sentence)
        ):
            own = replace(cand, score=sentence.score, superseded=sentence.superseded)
            cited = also.pop((sentence.hit_index, sentence.start), [])
            also[(own.hit_index, own.start)] = [sentence, *cited]
            return own
    return sentence


def _kinds_held(c: Candidate) -> float:
    """How many kinds of answer asked for (a date, a number...) the sentence holds."""
    return c.features[_KINDS_HELD] if c.features else 0.0


_KINDS_HELD = FEATURES.index("kinds_held")


def _only_what_answers(
    chosen: list[Candidate], wanted: Sequence[re.Pattern[str]]
) -> list[Candidate]:
    """For a question that asks only for exact things (a date, a quantity)
    and is answered: the best sentence and the further ones that state such a thing; the others
    only pad the answer."""
    if not all(shape in EXACT_SHAPES for shape in wanted):
        return chosen

    def holds(c: Candidate) -> bool:
        return any(shape.search(c.text) for shape in wanted)

    stating = [c for c in chosen[1:] if holds(c)]
    if not stating and not holds(chosen[0]):
        return chosen
    return [chosen[0], *stating]


def close_to(cand: Candidate, best: Candidate) -> bool:
    """Whether ``cand`` scores within one unit of ``best``: the learned score's unit is the
    training questions' average gap between the best and the fourth best sentence
    (``evaluation/sentences.SPREAD_RANK``), so a sentence within it is a near rival."""
    return cand.score >= best.score - 1.0


def in_own_language(ranked: list[Candidate], language: str) -> list[Candidate]:
    """``ranked`` with the sentences in the question's language first, when the best of them
    scores within one unit of the best of all (``close_to``); else unchanged."""
    own = [c for c in ranked if c.hit.chunk.language == language]
    if not own or not ranked or own[0] is ranked[0]:
        return ranked
    if not close_to(own[0], ranked[0]):
        return ranked
    return own + [c for c in ranked if c.hit.chunk.language != language]


def _holding_kind(
    chosen: list[Candidate],
    ranked: list[Candidate],
    wanted: Sequence[re.Pattern[str]],
    tuning: Tuning,
) -> list[Candidate]:
    """``chosen``, with a sentence that holds the kind of answer asked for if none does."""

    def holds(c: Candidate) -> bool:
        return any(shape.search(c.text) for shape in wanted)

    if any(holds(c) for c in chosen):
        return chosen
    best = chosen[0]
    for cand in ranked:
        if not close_to(cand, best):
            continue  # (a follow-up's ranking puts restatements last, whatever their score)
        same_section = (cand.hit.chunk.document, cand.hit.chunk.section) == (
            best.hit.chunk.document,
            best.hit.chunk.section,
        )
        if same_section and holds(cand) and not any(cand.redundant_with(c) for c in chosen):
            return [*chosen[: tuning.max_sentences - 1], cand]
    return chosen


def repeats_answer(
    cand: Candidate, chosen: Sequence[Candidate], wanted: Sequence[re.Pattern[str]]
) -> bool:
    """Whether ``cand`` gives only answers the chosen sentences already give: "When will Espoo
    be carbon neutral?" is answered by one sentence with 2030, not three."""
    values = answer_values(cand.text, wanted)
    if not values:
        return False
    given = set().union(*(answer_values(c.text, wanted) for c in chosen))
    return values <= given


def _with_following(
    chosen: list[Candidate], ranked: list[Candidate], asked_words: frozenset[str], tuning: Tuning
) -> list[Candidate]:
    """``chosen`` with the sentence after the best one (``chosen[0]``) in its passage, when it
    scores close to it, or when the best one only restates the question (its topic words and
    numbers are all ``asked_words``: "Esbos VLR-rapport har tre teman." for "Vilka tre teman
    har Esbos VLR-rapport?"), and there is room."""
    best = chosen[0]
    following = _next_in_passage(best, ranked)
    said = {*content_terms(best.text, best.hit.chunk.language), *DIGITS.findall(best.text)}
    echo = bool(said) and said <= asked_words
    if (
        following is not None
        and following not in chosen
        and len(chosen) < tuning.max_sentences
        and (close_to(following, best) or echo)
        and not any(following.text == c.text for c in chosen)
    ):
        return [*chosen, following]
    return chosen


def _with_current(
    chosen: list[Candidate], ranked: list[Candidate], wanted: Sequence[re.Pattern[str]]
) -> list[Candidate]:
    """``chosen``, led by what replaced the best sentence when its document marks it as replaced
    and no chosen sentence names a later year: the nearest sentence of its passage that is not
    marked, names a later year and holds the kind of answer asked for (or the kind the replaced
    one holds), with the best one's score. "An earlier page expected 2028" is followed by
    "completion is expected in 2029": alone, it would mislead."""
    best = chosen[0]
    year = latest_year(best.text)
    kinds = list(wanted) or [shape for shape in EXACT_SHAPES if shape.search(best.text)]

    def later(c: Candidate) -> bool:
        return (
            not c.superseded
            and latest_year(c.text) > year
            and any(shape.search(c.text) for shape in kinds)
        )

    if not best.superseded or not year or any(later(c) for c in chosen):
        return chosen
    current = [c for c in ranked if c.hit_index == best.hit_index and later(c)]
    if not current:
        return chosen
    newer = min(current, key=lambda c: (abs(c.start - best.start), -c.start))
    return [replace(newer, score=best.score), *chosen]


def _next_in_passage(sentence: Candidate, ranked: list[Candidate]) -> Candidate | None:
    """The candidate that follows ``sentence`` in its passage; for a passage's last sentence,
    the one that follows it where the next passage repeats it (the chunks' overlap)."""
    for copy in (sentence, *(c for c in ranked if c.text == sentence.text and c is not sentence)):
        later = [c for c in ranked if c.hit_index == copy.hit_index and c.start > copy.start]
        if later:
            return min(later, key=lambda c: c.start)
    return None


def citation_for(n: int, hit: Hit, quotes: tuple[str, ...]) -> Citation:
    c = hit.chunk
    return Citation(
        n=n,
        title=c.title,
        source=c.source,
        date=c.date,
        section=c.section,
        page=c.page,
        document=c.document,
        text=c.text,
        quotes=quotes,
        chunk_id=c.id,
        language=c.language,
    )


def quotes_for(answer: str, passage: str) -> tuple[str, ...]:
    """The passage sentence that shares most words with a generated answer."""
    from ..ingest.chunking import split_sentences

    said = _content_words(answer)
    sentences = [passage[s.start : s.end] for s in split_sentences(passage)]
    if not sentences:
        return ()
    return (max(sentences, key=lambda s: len(said & _content_words(s))),)


def _content_words(text: str) -> set[str]:
    """The stemmed content words of ``text`` (stop words left out)."""
    return set(tokenize(text))
