"""The conversation: a follow-up's retrieval query, and answers that do not repeat the last reply.

A question asked after another is retrieved together with the previous question and the first
sentence of the reply to it; one that points back ("what about transport?", "what's replacing
it?") is read only so, any other both so and alone, and the assistant keeps the reading the
documents answer better. A follow-up's answer then leads with what that reply did not already say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..i18n import translate
from ..text import LANGUAGES, either_spelling, stems, strip_markers, words

#: How a refusal begins (its reply is left out of a follow-up's query).
REFUSAL_START = "I could not find this in Espoo's sustainability documents"
#: How the reply to an attempt to change the instructions begins, and the reply.
OVERRIDE_START = "I answer questions about Espoo's sustainability work from the city's documents"
OVERRIDE_REPLY = "{start}, and my instructions stay as they are. Ask me about a covered topic"
#: Words left out when telling whether a sentence restates the previous reply.
_FUNCTION_WORDS = frozenset(
    "a an the in on of its it and or to for at by was is were are be been with as that this "
    "from than".split()
)
#: Follow-up cues: a short question, or one that points back at the conversation.
_FOLLOW_UP = re.compile(
    r"^\s*((ok|okay|so|but|right)\W+)?"
    r"(and|also|what about|how about|what of|and what|same for|how is|is it|are they)\b"
    r"|\b(it|its|that|this|those|these|they|them|their|there|then|he|she|his|her)\b"
    r"|\b(the|that|this|which|latest|newest|recent|last|first|other|next|previous) ones?\b"
    # Finnish: "and / what about / but ...", then "it, they, he/she, this, there, then"
    r"|^\s*(entä|entäs|ja|mutta|no|eli|sitten)\b"
    r"|\b(se|sen|sitä|siitä|siihen|siinä|sillä|ne|niitä|niiden|niistä|niihin|niissä|hän|hänen"
    r"|he|heidän|tämä|tämän|tätä|tästä|nämä|näiden|siellä|sinne|silloin)\b"
    # Swedish: "and / but / what about ...", then "it, they, he/she, this, there, then"
    r"|^\s*(och|men|så|än|vad sägs om|hur är det med)\b"
    r"|\b(den|det|dess|dem|deras|där|då|han|hon|hans|hennes|denna|detta|dessa)\b",
    re.I,
)


#: Requests for live information (forecasts, timetables, opening hours, last night's result),
#: which documents cannot answer however well they match the words.
_LIVE = re.compile(
    r"\b(tomorrow|tonight|this (weekend|evening|afternoon|morning)|next weekend|last night"
    r"|yesterday|opening hours|what time (is|does|do)|timetables?|departures?|live score"
    r"|open(ed)? (on|at|until|till) (mon|tues|wednes|thurs|fri|satur|sun)days?"
    r"|next (bus|metro|train|tram|ferry)(es|s)? (from|to|towards|leaves?|leaving|departs?|at)"
    r"|(when|what time) (does|do|is|are) the next (bus|metro|train|tram|ferry)|spot price"
    r"|electricity price (today|now|right now)|today'?s electricity price"
    # Finnish
    r"|huomenna|tänä (iltana|viikonloppuna)|ensi viikonloppuna|eilen|eilisen|aukioloaj\w*"
    r"|aikataulu\w*|lähtöaj\w*|mihin aikaan|säätiedo\w*|sääennuste\w*|pörssisähkö\w*"
    r"|seuraava (bussi|juna|metro|ratikka|raitiovaunu|lautta)|sähkön hinta (tänään|nyt)"
    # Swedish
    r"|i ?morgon|i kväll|i helgen|nästa helg|i ?går|öppettider\w*|tidtabell\w*|avgång\w*"
    r"|vilken tid (går|öppnar|stänger)|väderprognos\w*|spotpris\w*|elpris\w* (i ?dag|nu)"
    r"|nästa (buss|tåg|metro|spårvagn|färja))\b",
    re.I,
)


_LIVE = either_spelling(_LIVE)


def asks_for_live_information(question: str) -> bool:
    """Whether ``question`` wants live information ("the weather tomorrow", "the next metro")."""
    return bool(_LIVE.search(question))


#: Attempts to change the assistant's instructions (prompt injection, OWASP LLM01): "ignore
#: your previous instructions", "print your system prompt", "developer mode". The extractive
#: answerer follows no instructions, but quoting a passage at them reads as if it had.
_OVERRIDE = either_spelling(
    re.compile(
        # "ignore all / your / previous instructions" (not "did Espoo ignore the rules on noise")
        r"\b(ignore|disregard|forget|override)\s+(all\s+(of\s+)?(your\s+|the\s+)?"
        r"((previous|prior|earlier|above)\s+)?|(your|my)\s+((previous|prior|earlier|above)\s+)?"
        r"|(the\s+)?(previous|prior|earlier|above)\s+)(instructions|rules|prompts?|guidelines)\b"
        r"|\bsystem ?prompt|\bdeveloper mode\b|\bjailbreak|\bunrestricted (mode|assistant|ai)\b"
        # a new role: "you are now FreeBot", "youre now a pirate", "you're no longer ...",
        # "stay in character"
        r"|\byou(\s+a|')?re\s+(now|no longer)\b|\bfrom now on,? you are\b|\bstay in character\b"
        r"|\bpretend (that )?(you are|you're|to be)\b"
        # Finnish
        r"|\b(unohda|ohita|sivuuta)\s+(kaikki\s+)?((aiemmat|aikaisemmat|edelliset)\s+"
        r"(ohje\w*|sään\w*)|ohjeesi|sääntösi)|\bjärjestelmäkehot\w*|\bkehittäjätila\w*"
        r"|\brajoituksista vapaa|\brajoittamaton tekoäly|\b(sinä\s+)?olet\s+nyt\b|\besitä\s+olevasi"
        r"|\bet\s+(ole\s+enää|enää\s+ole)\b"
        # Swedish
        r"|\b(glöm|ignorera|strunta i)\s+(alla\s+(dina\s+)?((tidigare|föregående)\s+)?"
        r"|dina\s+((tidigare|föregående)\s+)?|(tidigare|föregående)\s+)(instruktion\w*|regl\w*)"
        r"|\bsystemprompt|\butvecklarläge\w*|\bdu är (nu|inte längre)\b|\blåtsas att du är\b",
        re.I,
    )
)


def asks_to_override(question: str) -> bool:
    """Whether ``question`` tries to change the assistant's instructions rather than ask."""
    return bool(_OVERRIDE.search(question))


@dataclass(frozen=True)
class Turn:
    """One message of the conversation: role "user" or "assistant", and its text."""

    role: str
    content: str


def clean_question(question: str, max_chars: int) -> str:
    """Printable text on one line, at most ``max_chars`` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in question)
    return " ".join(text.split())[:max_chars]


def retrieval_query(question: str, history: Sequence[Turn | dict[str, str]]) -> str:
    """The question joined with the previous exchange, as a follow-up is read (the question
    alone when there is none).

    The previous question gives the topic; the first sentence of the reply to it names what
    "it" or "the most recent one" refers to ("what's replacing it?" after "when did the coal
    plant close?" is about the coal unit the reply named). Whether a question is a follow-up
    at all is decided by the assistant (``Question.may_stand_alone``).
    """
    turns = [t for t in (_turn(h) for h in history) if t.content.strip()]
    previous = [t for t in turns if t.role == "user"]
    if not previous:
        return question
    parts = [previous[-1].content.strip()]
    if turns[-1].role == "assistant" and not _is_refusal(turns[-1].content):
        reply = strip_markers(turns[-1].content).strip()
        parts.append(re.split(r"(?<=[.!?])\s+", reply, maxsplit=1)[0])
    return " ".join([*parts, question])


def points_back(question: str) -> bool:
    """Whether ``question`` points back at the conversation ("it", "and what about")."""
    return bool(_FOLLOW_UP.search(question))


def _is_refusal(reply: str) -> bool:
    """Whether ``reply`` is a refusal, in any of the interface's languages."""
    return any(
        reply.startswith(translate(lang, start))
        for lang in LANGUAGES
        for start in (REFUSAL_START, OVERRIDE_START)
    )


def _turn(item: Turn | dict[str, str]) -> Turn:
    if isinstance(item, Turn):
        return item
    return Turn(str(item.get("role", "")), str(item.get("content", "")))


class _Sentence(Protocol):
    @property
    def text(self) -> str: ...


S = TypeVar("S", bound=_Sentence)


def not_repeating(ranked: list[S], history: Sequence[Turn | dict[str, str]]) -> list[S]:
    """``ranked`` with the sentences that restate the previous reply moved last.

    A follow-up's query carries the previous reply, so the sentence the reply quoted scores
    high again; the reader wants what is new. The words of the question that reply answered
    are its topic, which a new answer shares; a sentence restates the reply when all its other
    words are the reply's ("the third footprint came out in May 2025" is new after "the first
    footprint came out in January 2022").
    """
    turns = [t for t in (_turn(h) for h in history) if t.content.strip()]
    if not turns or turns[-1].role != "assistant":
        return ranked
    asked = [t for t in turns[:-1] if t.role == "user"]
    topic = _words(asked[-1].content) if asked else set()
    said = _words(turns[-1].content) - topic

    def restates(c: S) -> bool:
        own = _words(c.text) - topic
        return bool(own) and own <= said

    fresh = [c for c in ranked if not restates(c)]
    return fresh + [c for c in ranked if restates(c)] if fresh else ranked


def _words(text: str) -> set[str]:
    """Stemmed words, numbers included, without citation markers and function words.

    Not the search stop list: "first", "third" and "may" tell two facts apart here.
    """
    return set(stems([w for w in words(strip_markers(text)) if w not in _FUNCTION_WORDS]))
