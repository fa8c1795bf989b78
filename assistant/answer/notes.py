"""Notes: one line in the asker's language about an answer's sources (their language, the
years they report on), shown under the answer."""

from __future__ import annotations

from collections.abc import Sequence

from ..i18n import translate
from ..text import years
from .composition import Citation

#: The source-language note of an answer quoted from a passage in another language.
_SOURCE_IN = {
    "en": "The source of this answer is in English.",
    "fi": "The source of this answer is in Finnish.",
    "sv": "The source of this answer is in Swedish.",
}


def source_language_note(language: str, citations: Sequence[Citation]) -> str:
    """One line in the asker's language when the answer's first source is in another language."""
    if (
        not citations
        or citations[0].language == language
        or citations[0].language not in _SOURCE_IN
    ):
        return ""
    return translate(language, _SOURCE_IN[citations[0].language])


def other_years_note(language: str, asked: frozenset[int], citations: Sequence[Citation]) -> str:
    """One line in the asker's language when the question names years and the quoted sentences
    name others only: "emissions in 2021?" answered with the 2018 figure says so. (A sentence
    that names no year says nothing either way: "Natura 2000" asked, six areas answered.)"""
    quoted = {y for c in citations for quote in c.quotes for y in years(quote)}
    if not asked or not quoted or asked & quoted:
        return ""
    return translate(
        language,
        "The quoted sentences are about other years than {years}.",
        years=", ".join(str(y) for y in sorted(asked)),
    )
