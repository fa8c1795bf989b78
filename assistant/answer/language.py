"""Language: whether a question is written in Finnish or Swedish rather than English.

The documents and the model are English, so a question in Espoo's other official languages
rarely finds its answer; when it is refused, the refusal says why in the question's language
too. lingua decides between English, Finnish and Swedish, but only for a question of at least
three words of which at most half are English stop words or words of the corpus, so a lone
place name ("Ämmässuo") or an English question about Finnish places stays English.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any

from ..text import question_stop_words, stems, words

#: What the refusal adds, in the question's language.
ASK_IN_ENGLISH = {
    "fi": (
        "Vastaan vain englanniksi esitettyihin kysymyksiin, koska tämän palvelun asiakirjat ovat "
        "englanninkielisiä. Kysy englanniksi, niin etsin vastauksen."
    ),
    "sv": (
        "Jag svarar bara på frågor som ställs på engelska, eftersom dokumenten i den här "
        "tjänsten är på engelska. Ställ frågan på engelska, så letar jag upp svaret."
    ),
}
MIN_WORDS = 3
#: lingua's confidence needed for Finnish or Swedish.
MIN_CONFIDENCE = 0.9


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = (Language.ENGLISH, Language.FINNISH, Language.SWEDISH)
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def question_language(question: str, vocabulary: Collection[str]) -> str:
    """'fi' or 'sv' for a question in Finnish or Swedish, else ''.

    ``vocabulary`` holds the corpus's word stems: words found there count as English.
    """
    said = [w for w in words(question) if w.isalpha()]
    if len(said) < MIN_WORDS:
        return ""
    stop = question_stop_words()
    english = sum(1 for w, s in zip(said, stems(said), strict=True) if w in stop or s in vocabulary)
    if english / len(said) > 0.5:
        return ""
    best = _detector().compute_language_confidence_values(question)[0]
    code = best.language.iso_code_639_1.name.lower()
    return code if code in ASK_IN_ENGLISH and best.value >= MIN_CONFIDENCE else ""


def warm_up() -> None:
    """Load lingua's models now rather than on the first refusal."""
    _detector().compute_language_confidence_values("warm up")
