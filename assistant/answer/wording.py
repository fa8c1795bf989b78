"""The question's words: what each is worth (IDF), which document words stand for it, and how
much of them a sentence holds (pure functions; ``evidence.py`` scores with them)."""

from __future__ import annotations

from dataclasses import dataclass

from ..text import content_terms
from .synonyms import Match

Alternatives = dict[str, tuple[frozenset[str], ...]]
#: For a question word, the corpus words that mean nearly the same and how alike they are.
Near = dict[str, dict[str, float]]


@dataclass(frozen=True)
class QuestionWords:
    """What a question's words are worth, and where the passages say them."""

    question: dict[str, float]  # the question's stems and their IDF weights
    context: dict[str, float]  # the same for the retrieval query (a follow-up's context)
    alternatives: Alternatives
    near: Near
    headings: dict[int, set[str]]  # the stems of each passage's title and section
    focus: str  # the rarest known question word that no passage holds ("" if none)
    #: Per passage, the IDF share of the question's known words that it and its headings hold.
    known_held: dict[int, float]


def focus_term(weights: dict[str, float], idf: tuple[dict[str, float], float]) -> str:
    """The rarest question word that the corpus knows (unknown words may be typos)."""
    known = [(w, t) for t, w in weights.items() if t in idf[0]]
    return max(known)[1] if known else ""


def unknown_share(weights: dict[str, float], idf: tuple[dict[str, float], float]) -> float:
    """The IDF share of the question's words that the corpus never uses."""
    total = sum(weights.values()) or 1.0
    return sum(w for t, w in weights.items() if t not in idf[0]) / total


def unknown_terms(weights: dict[str, float], idf: tuple[dict[str, float], float]) -> int:
    """How many of the question's topic words the corpus never uses."""
    return sum(1 for t in weights if t not in idf[0])


def alternatives_of(matches: list[Match]) -> Alternatives:
    """For each question stem a synonym rule matched, the documents' wordings that stand for it."""
    found: dict[str, list[frozenset[str]]] = {}
    for m in matches:
        for stem in m.stems:
            found.setdefault(stem, []).extend(m.targets)
    return {stem: tuple(targets) for stem, targets in found.items()}


def weighted_terms(
    text: str,
    idf: tuple[dict[str, float], float],
    alternatives: Alternatives | None = None,
    language: str = "en",
) -> dict[str, float]:
    """IDF weight of each content stem; a word the corpus lacks weighs as its documents' word."""
    table, unseen = idf
    weights = {}
    for t in set(content_terms(text, language)):
        weight = table.get(t)
        if weight is None:
            known = [table[s] for alt in (alternatives or {}).get(t, ()) for s in alt if s in table]
            weight = max(known) if known else unseen
        weights[t] = weight
    return weights


def coverage(
    weights: dict[str, float],
    terms: frozenset[str] | set[str],
    alternatives: Alternatives | None = None,
    near: Near | None = None,
) -> float:
    """The IDF share of the question's stems found in ``terms``: directly or via a synonym, or
    in part (its similarity) via a word that means nearly the same."""
    total = sum(weights.values())
    if not total:
        return 0.0
    alternatives = alternatives or {}
    near = near or {}
    found = 0.0
    for t, w in weights.items():
        if t in terms or any(alt <= terms for alt in alternatives.get(t, ())):
            found += w
        elif t in near:
            found += w * max((sim for s, sim in near[t].items() if s in terms), default=0.0)
    return found / total


def closeness(
    weights: dict[str, float],
    sentence: list[str],
    anchors: list[int],
    alternatives: Alternatives | None = None,
    near: Near | None = None,
) -> float:
    """How close the question's words stand to the answer a sentence holds: each question word
    at ``d`` words from the nearest anchor (a match of the kind of answer asked for) counts
    ``1 / (1 + d)`` of its IDF weight (a near word in part, by its similarity); 0 without an
    anchor. ``sentence`` is the sentence's stems in order, stop words kept.

    "carbon neutral by 2030" answers "when will Espoo be carbon neutral?"; "in October 2025 ...
    named promoting the carbon neutrality goal" holds a date too, but far from the words asked.
    """
    total = sum(weights.values())
    if not total or not anchors:
        return 0.0
    alternatives = alternatives or {}
    near = near or {}
    found = 0.0
    for t, w in weights.items():
        alike = {t: 1.0} | {s: 1.0 for alt in alternatives.get(t, ()) if len(alt) == 1 for s in alt}
        for s, sim in near.get(t, {}).items():
            alike.setdefault(s, sim)
        best = 0.0
        for i, stem in enumerate(sentence):
            similarity = alike.get(stem)
            if similarity:
                distance = min(abs(i - a) for a in anchors)
                best = max(best, similarity / (1 + distance))
        found += w * best
    return found / total
