"""Text: the one tokenizer, the stemmers, the stop lists and the patterns every stage shares.

Search (BM25, IDF), evidence scoring, synonyms, places, language detection and the conversation
all split text into words here, so a word means the same thing at every stage. Stemming and stop
words follow the text's language: English, Finnish or Swedish (``LANGUAGES``); Snowball stemmers
from PyStemmer, stop lists from bm25s, scikit-learn and the ``stop-words`` package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

#: The one word pattern: runs of letters, digits and underscores. Every stage splits text with
#: ``words`` (or ``tokenize`` for search), so a word means the same thing everywhere.
WORD = re.compile(r"\w+")
#: A year of the documents' era: four digits that no other digit touches ("2030", not "12030"),
#: also inside a name ("VLR2020"); a decade ("the 1950s") is not a year.
YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d|s\b)")
#: A run of digits: "311,900" and "311 900" both name 311 and 900.
DIGITS = re.compile(r"\d+")
#: A citation marker in an answer: "[3]".
MARKER = re.compile(r"\[(\d{1,3})\]")
#: The markers after one quoted sentence: "[1]", or "[1][3]" when two sources state it.
SENTENCE_MARKERS = re.compile(r"(?:\[\d{1,3}\])+")
#: A possessive ending ("Espoo's", "residents'"), left out before splitting into words.
_POSSESSIVE = re.compile(r"(?<=\w)[’'](?:s\b)?")


def without_possessives(text: str) -> str:
    """``text`` with possessive endings and inner apostrophes left out ("Espoo's" -> "Espoo")."""
    return _POSSESSIVE.sub("", text)


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (possessive endings left out: "Espoo's" -> "espoo")."""
    return WORD.findall(without_possessives(text).casefold())


#: The Nordic letters residents often type without their dots and rings ("nasta", "paiva").
_NORDIC_FOLD = str.maketrans("äöåÄÖÅ", "aoaAOA")


def fold_nordic(text: str) -> str:
    """``text`` with ä, ö and å written as a, o and a, as many type on a foreign keyboard."""
    return text.translate(_NORDIC_FOLD)


def respellings(vocabulary: Iterable[str]) -> dict[str, str]:
    """For each word of ``vocabulary`` with ä, ö or å, its form typed without them, when that
    form is no word of the vocabulary and no other word's: "naturskyddsomraden" ->
    "naturskyddsområden", "paastot" -> "päästöt" (not "ar", which is "år" or "är")."""
    known = set(vocabulary)
    owners: dict[str, list[str]] = {}
    for word in known:
        folded = fold_nordic(word)
        if folded != word and folded not in known:
            owners.setdefault(folded, []).append(word)
    return {folded: spelled[0] for folded, spelled in owners.items() if len(spelled) == 1}


def respell(text: str, spellings: Mapping[str, str]) -> str:
    """``text`` with the words typed without the Nordic letters' dots and rings written as the
    documents write them (``respellings``)."""
    if not spellings:
        return text

    def one(m: re.Match[str]) -> str:
        word = m.group()
        spelled = spellings.get(word.casefold())
        if spelled is None:
            return word
        return spelled[0].upper() + spelled[1:] if word[0].isupper() else spelled

    return WORD.sub(one, text)


def either_spelling(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` that also matches its words typed without the Nordic letters' dots and rings
    (search the text as it is: "nästa buss" and "nasta buss" both match)."""
    folded = fold_nordic(pattern.pattern)
    if folded == pattern.pattern:
        return pattern
    return re.compile(f"(?:{pattern.pattern})|(?:{folded})", pattern.flags)


def years(text: str) -> list[int]:
    """The years ``text`` names, in order."""
    return [int(y) for y in YEAR.findall(text)]


def strip_markers(text: str) -> str:
    """``text`` without its citation markers (and the space before each)."""
    return re.sub(r"\s*" + MARKER.pattern, "", text)


#: The languages the documents and questions are in (ISO 639-1), English first: the default.
LANGUAGES = ("en", "fi", "sv")
_SNOWBALL = {"en": "english", "fi": "finnish", "sv": "swedish"}


def language_of(code: str) -> str:
    """``code`` if it is one of ``LANGUAGES`` ("fi-FI" and "FI" count as "fi"), else "en"."""
    base = code.strip().lower()[:2]
    return base if base in _SNOWBALL else "en"


@lru_cache(maxsize=len(LANGUAGES))
def _stemmer(language: str):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer(_SNOWBALL[language])


@lru_cache(maxsize=len(LANGUAGES))
def _other_stop_words(language: str) -> frozenset[str]:
    from stop_words import get_stop_words

    return frozenset(get_stop_words(language))


@lru_cache(maxsize=len(LANGUAGES))
def search_stop_words(language: str = "en") -> frozenset[str]:
    """The stop list of search: words no passage is found by (bm25s's English list; for Finnish
    and Swedish the ``stop-words`` lists)."""
    if language == "en":
        from bm25s.stopwords import STOPWORDS_EN

        return frozenset(STOPWORDS_EN)
    return _other_stop_words(language)


def stems(words_: list[str], language: str = "en") -> list[str]:
    """Snowball stems of lower-cased words, by the rules of ``language``."""
    return _stemmer(language).stemWords(words_) if words_ else []


def _searchable(word: str) -> bool:
    # A single letter tells passages apart no better than a stop word; a single digit may.
    return len(word) > 1 or word.isdecimal()


def search_words(text: str, language: str = "en") -> list[str]:
    """The words search reads: ``WORD`` tokens of ``text`` (possessives kept: "espoo's" is
    "espoo" and a dropped "s"), lower-cased, single letters and stop words left out; unstemmed."""
    stop = search_stop_words(language)
    return [w for w in WORD.findall(text.casefold()) if _searchable(w) and w not in stop]


def tokenize(text: str, language: str = "en") -> list[str]:
    """Lower-cased, stop words removed, Snowball-stemmed tokens (what BM25 and IDF count)."""
    return stems(search_words(text, language), language)


def _english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop list (Glasgow IR group), read without importing all of
    scikit-learn: that import took 3 s of a server's first answer."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    path = folder / "feature_extraction" / "_stop_words.py" if folder else None
    if path is not None and path.is_file():
        module_spec = importlib.util.spec_from_file_location("_sklearn_stop_words", path)
        if module_spec is not None and module_spec.loader is not None:
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return frozenset(module.ENGLISH_STOP_WORDS)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@lru_cache(maxsize=len(LANGUAGES))
def question_stop_words(language: str = "en") -> frozenset[str]:
    """Words that carry no topic in a question: a broad stop list and conversational words."""
    if language != "en":
        return _other_stop_words(language) | _CHAT_WORDS.get(language, frozenset())
    ENGLISH_STOP_WORDS = _english_stop_words()
    # Conversational words that carry no topic ("whats the...", "gonna", "tell me").
    return frozenset(ENGLISH_STOP_WORDS) | {
        "whats",
        "gonna",
        "wanna",
        "tell",
        "know",
        "like",
        "did",
        "does",
        "doing",
        "got",
        "get",
        "gets",
        "want",
        "wants",
        "lot",
        "happen",
        "happened",
        "happens",
        "thing",
        "things",
        "ok",
        "okay",
        "please",
        "hey",
        "hi",
        "hello",
        "thanks",
    }


#: Conversational words of Finnish and Swedish questions that the stop lists lack.
_CHAT_WORDS = {
    "fi": frozenset(
        "kerro kertoa haluan haluaisin tietää voitko voisitko mitä miten moi hei kiitos".split()
    ),
    "sv": frozenset("berätta vill veta kan du hej tack undrar skulle".split()),
}


def content_terms(text: str, language: str = "en") -> list[str]:
    """The topic-bearing stems of a question: ``tokenize`` minus a broad stop list and numbers
    other than years ("emissions in 1990" is about 1990; "2 bikes" is not about 2)."""
    stop = question_stop_words(language)
    kept = [
        w
        for w in WORD.findall(text.casefold())
        if _searchable(w) and w not in stop and (not w.isdigit() or YEAR.fullmatch(w))
    ]
    return stems(kept, language)


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = (Language.ENGLISH, Language.FINNISH, Language.SWEDISH)
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect_language(text: str) -> tuple[str, float]:
    """The likeliest of ``LANGUAGES`` for ``text`` and lingua's confidence in it (0 to 1)."""
    if not text.strip():
        return "en", 0.0
    best = _detector().compute_language_confidence_values(text[:2000])[0]
    return best.language.iso_code_639_1.name.lower(), float(best.value)
