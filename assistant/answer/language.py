"""Language: which of the city's three languages a question is written in.

The answer, its notes and its refusal follow the question's language. lingua decides between
English, Finnish and Swedish; a question of one or two words ("Ämmässuo", "kaupunkipyörät")
says little, so there the interface's language (``hint``) decides when one is given. A question
whose words are mostly English stop words is English, whatever Finnish place names it holds.
"""

from __future__ import annotations

from collections.abc import Collection

from ..text import LANGUAGES, detect_language, question_stop_words, words

#: A question needs this many words for its own language to outweigh the interface's.
MIN_WORDS = 3
#: lingua's confidence needed for Finnish or Swedish.
MIN_CONFIDENCE = 0.9


def question_language(question: str, hint: str = "", shared: Collection[str] = frozenset()) -> str:
    """'en', 'fi' or 'sv' for ``question``; ``hint`` is the interface's language, if known.

    ``shared`` holds the words that documents in several languages use (``LexicalIndex.shared``):
    names such as "Nuuksio", which are left out before the language is decided."""
    hint = hint if hint in LANGUAGES else ""
    said = [w for w in words(question) if w.isalpha() and w not in shared]
    if not said:
        return hint or "en"
    english = sum(1 for w in said if w in question_stop_words("en"))
    if english / len(said) > 0.5:
        return "en"
    code, confidence = detect_language(" ".join(said))
    if len(said) < MIN_WORDS and hint:
        return hint
    if code != "en" and confidence >= MIN_CONFIDENCE:
        return code
    return "en" if code == "en" or not hint else hint


def warm_up() -> None:
    """Load lingua's models now rather than on the first question."""
    detect_language("warm up")
