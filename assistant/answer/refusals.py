"""Refusals: why the documents cannot answer a question, in its language, and the checks that
refuse a question the evidence would answer for something else: another place
(``elsewhere_places``), another year (``elsewhen_years``), a target or forecast where the
present is asked (``ahead_years``), or no figure where one is asked (``no_figure``); the last
three read the composed answer (``mismatch``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..i18n import translate
from ..text import SENTENCE_MARKERS, strip_markers, years
from .composition import Citation
from .conversation import OVERRIDE_REPLY, OVERRIDE_START, REFUSAL_START
from .cues import DATE_SHAPE, QUANTITY_SHAPE
from .evidence import Candidate
from .places import mentions
from .question import Question


@dataclass(frozen=True)
class Mismatch:
    """How a composed answer misses what its question asks; empty (false) when it does not."""

    #: The other years it reports on, where the question asks about past ones (``elsewhen_years``).
    elsewhen: tuple[int, ...] = ()
    #: The years of the only target or forecast it gives, where the present is asked
    #: (``ahead_years``).
    ahead: tuple[int, ...] = ()
    #: It states no figure, where the question asks for one (``no_figure``).
    no_figure: bool = False

    def __bool__(self) -> bool:
        return bool(self.elsewhen or self.ahead or self.no_figure)


#: An answer that misses nothing.
NO_MISMATCH = Mismatch()


def refusal_text(
    asked: Question,
    topics: Sequence[str],
    *,
    elsewhere: Sequence[str] = (),
    mismatch: Mismatch = NO_MISMATCH,
) -> str:
    """Why the documents cannot answer ``asked``, and the topics they do cover, in its language
    (``elsewhere``: the other places it asks about; ``mismatch``: how the answer the documents
    would give misses the question)."""
    lang = asked.language
    elsewhen, ahead = mismatch.elsewhen, mismatch.ahead
    if not asked.text:
        return translate(lang, "Please type a question about Espoo's sustainability work.")
    start = translate(lang, OVERRIDE_START if asked.override else REFUSAL_START)
    if asked.override:
        text = translate(lang, OVERRIDE_REPLY, start=start)
    elif asked.live:
        text = translate(
            lang,
            "{start}: they hold no live information such as weather, timetables, opening hours "
            "or results. Ask me about a covered topic",
            start=start,
        )
    elif elsewhere:
        places = f" {translate(lang, 'or')} ".join(elsewhere)
        text = translate(
            lang,
            "{start}: they are about the City of Espoo, not {places}, so I won't answer with "
            "Espoo's figures. Ask me about Espoo's work on a topic",
            start=start,
            places=places,
        )
    elif elsewhen:
        text = translate(
            lang,
            "{start} for {asked}: what they say on it is about other years ({years}). Ask me "
            "about one of those, or about a covered topic",
            start=start,
            asked=f" {translate(lang, 'or')} ".join(str(y) for y in sorted(asked.years)),
            years=", ".join(str(y) for y in elsewhen),
        )
    elif ahead:
        text = translate(
            lang,
            "{start}: they say nothing of now, only a target or forecast for {years}. Ask me "
            "about that, or about a covered topic",
            start=start,
            years=", ".join(str(y) for y in ahead),
        )
    elif mismatch.no_figure:
        text = translate(
            lang,
            "{start}: what they say on it gives no figure for it. Ask me about a covered topic",
            start=start,
        )
    else:
        text = translate(
            lang,
            "{start}, so I won't guess. Try rephrasing, or ask about a covered topic",
            start=start,
        )
    if not topics:
        return text + "."
    return text + translate(lang, " such as {topics}.", topics=", ".join(topics))


def elsewhere_places(asked: Question, ranked: list[Candidate]) -> list[str]:
    """The other places a question asks about when its best evidence names none of them.

    "What year is Vantaa aiming to be carbon neutral?" finds Espoo's own year: refuse, rather
    than answer with Espoo's figures.
    """
    places = list(asked.places)
    if places and ranked and any(mentions(ranked[0].text, p) for p in places):
        return []
    return places


def elsewhen_years(asked: Question, text: str, this_year: int) -> tuple[int, ...]:
    """The other years an answer ``text`` leads with when every year the question names has
    passed (up to ``this_year``), its first sentence names none of them, and no sentence of it
    states what was asked for one of them.

    "What was the recycling rate in 2024?" finds 2019's and 2022's figures (and 2024 only in a
    sentence on biowaste collection, with no figure): refuse, saying which years the documents
    report on, rather than answer another year's question, as ``elsewhere_places`` does for
    another place. "Per resident in 1990?" answered with 2020's figure and then 1990's stands.
    A year still to come ("emissions by 2035?") is one a target may be set for: that answer
    stands, with its note (``other_years_note``).
    """
    if not asked.years or max(asked.years) > this_year:
        return ()
    sentences = [s for s in SENTENCE_MARKERS.split(text) if s.strip()]
    named = set(years(sentences[0])) if sentences else set()
    if not named or named & asked.years:
        return ()
    shapes = asked.kinds or (QUANTITY_SHAPE,)
    for sentence in sentences[1:]:
        if asked.years & set(years(sentence)) and any(s.search(sentence) for s in shapes):
            return ()
    return tuple(sorted(named))


def ahead_years(asked: Question, text: str, citations: Sequence[Citation]) -> tuple[int, ...]:
    """The years an answer ``text`` leads with when the question asks for the present state (not
    when something will happen) and its first sentence names only years after its source's
    date: a target or a forecast, not the present. "How many ride the Jokeri light rail these
    days?" finds "…forecast to reach 91,000 passengers a day by 2030" (a page of 2023)."""
    if not asked.latest or DATE_SHAPE in asked.kinds or not citations:
        return ()
    written = citations[0].date[:4]  # the first source is the first sentence's
    named = set(years(SENTENCE_MARKERS.split(text, maxsplit=1)[0]))
    if not named or not written.isdigit() or min(named) <= int(written):
        return ()
    return tuple(sorted(named))


def no_figure(asked: Question, text: str) -> bool:
    """Whether an answer ``text`` states no number at all (a year and a date's day are none) where
    the question asks for a figure and not when. "What per-resident figure did the third
    footprint come out at?" finds "In May 2025 Espoo published its third consumption-based
    carbon footprint": refuse, rather than answer a figure with none."""
    return (
        asked.figure
        and DATE_SHAPE not in asked.kinds
        and not QUANTITY_SHAPE.search(strip_markers(text))
    )


def mismatch(asked: Question, text: str, citations: Sequence[Citation], this_year: int) -> Mismatch:
    """How the composed answer ``text`` (cited by ``citations``) misses what ``asked`` asks."""
    return Mismatch(
        elsewhen=elsewhen_years(asked, text, this_year),
        ahead=ahead_years(asked, text, citations),
        no_figure=no_figure(asked, text),
    )
