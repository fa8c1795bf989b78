"""Language: which of the city's three languages a question is written in.

The answer, its notes and its refusal follow the question's language. The corpus votes first:
a word that passages of one language alone use ("tonnes", "päästöt", "utsläpp"), or a stop word
of one language alone, counts for that language; names that passages of several languages use
("Espoo", "Nuuksio") count for none. When the votes are not clear, lingua decides between the
three on the words that are not such names. A question of one or two words says little, so
there the interface's language (``hint``) decides when one is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from ..text import LANGUAGES, detect_language, question_stop_words, words
from .tuning import DEFAULT, Tuning


def question_language(
    question: str, hint: str = "", only_in: Mapping[str, str] = {}, *, tuning: Tuning = DEFAULT
) -> str:
    """'en', 'fi' or 'sv' for ``question``; ``hint`` is the interface's language, if known;
    ``only_in`` maps words that documents of one language alone use to that language
    (``LexicalIndex.only_in``); ``tuning`` gives the words needed, the majority a language's
    own words need, and the detector's confidence."""
    hint = hint if hint in LANGUAGES else ""
    said = [w for w in words(question) if w.isalpha()]
    votes = Counter(v for v in (_vote(w, only_in) for w in said) if v)
    unnamed = [w for w in said if w in only_in or _vote(w, {})]
    if len(said) < tuning.language_min_words and hint:
        return hint
    if votes:
        (best, top), *rest = votes.most_common()
        if not rest or top >= tuning.language_majority * rest[0][1]:
            return best
    if not said:
        return hint or "en"
    code, confidence = detect_language(" ".join(unnamed or said))
    if code != "en" and confidence >= tuning.language_confidence:
        return code
    return "en" if code == "en" or not hint else hint


def _vote(word: str, only_in: Mapping[str, str]) -> str:
    """The language ``word`` belongs to alone: by the corpus, else by the stop lists."""
    if word in only_in:
        return only_in[word]
    owners = [lang for lang in LANGUAGES if word in question_stop_words(lang)]
    return owners[0] if len(owners) == 1 else ""


def warm_up() -> None:
    """Load lingua's models now rather than on the first question."""
    detect_language("warm up")
