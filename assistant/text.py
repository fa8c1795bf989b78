"""Text: the one tokenizer, the stemmer, the stop lists and the patterns every stage shares.

Search (BM25, IDF), evidence scoring, synonyms, places, language detection and the conversation
all split text into words here, so a word means the same thing at every stage.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_TOKEN = re.compile(r"\w\w+|\d", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def stems(words: list[str]) -> list[str]:
    """Snowball stems of lower-cased words."""
    return _stemmer().stemWords(words) if words else []


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words removed, Snowball-stemmed tokens."""
    stop = _stopwords()
    words = [w for w in _TOKEN.findall(text.casefold()) if w not in stop]
    return _stemmer().stemWords(words) if words else []


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


@lru_cache(maxsize=1)
def question_stop_words() -> frozenset[str]:
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


_YEAR = re.compile(r"(19|20)\d\d")


def content_terms(text: str) -> list[str]:
    """The topic-bearing stems of a question: ``tokenize`` minus a broad English stop list and
    numbers other than years ("emissions in 1990" is about 1990; "2 bikes" is not about 2)."""
    stop = question_stop_words()
    words = [
        w
        for w in _TOKEN.findall(text.casefold())
        if w not in stop and (not w.isdigit() or _YEAR.fullmatch(w))
    ]
    return _stemmer().stemWords(words) if words else []
