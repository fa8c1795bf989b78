"""Language: which of the city's three languages a question is written in.

The answer, its notes and its refusal follow the question's language. The corpus votes first:
a word that passages of one language alone use ("tonnes", "päästöt", "utsläpp"), or a stop word
of one language alone, counts for that language, and the language with the most votes wins;
names that passages of several languages use ("Espoo", "Nuuksio") count for none. When the
votes tie (a name alone, a few words the documents never use), the interface's language
(``hint``) decides when one is given: the page the resident asks on is better evidence than a
guess from so few words. Without one (the API), lingua's likeliest language decides, read on the
words that are not such names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from ..text import LANGUAGES, detect_language, question_stop_words, words


def question_language(question: str, hint: str = "", only_in: Mapping[str, str] = {}) -> str:
    """'en', 'fi' or 'sv' for ``question``; ``hint`` is the interface's language, if known;
    ``only_in`` maps words that documents of one language alone use to that language
    (``LexicalIndex.only_in``)."""
    hint = hint if hint in LANGUAGES else ""
    said = [w for w in words(question) if w.isalpha()]
    votes = Counter(v for v in (_vote(w, only_in) for w in said) if v).most_common(2)
    if votes and (len(votes) == 1 or votes[0][1] > votes[1][1]):
        return votes[0][0]
    if hint:
        return hint
    unnamed = [w for w in said if w in only_in or _vote(w, {})]
    return detect_language(" ".join(unnamed or said))[0] if said else "en"


def _vote(word: str, only_in: Mapping[str, str]) -> str:
    """The language ``word`` belongs to alone: by the corpus, else by the stop lists."""
    if word in only_in:
        return only_in[word]
    owners = [lang for lang in LANGUAGES if word in question_stop_words(lang)]
    return owners[0] if len(owners) == 1 else ""


def warm_up() -> None:
    """Load lingua's models now rather than on the first question."""
    detect_language("warm up")
