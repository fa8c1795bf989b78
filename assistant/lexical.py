"""Lexical retrieval: BM25 (bm25s) over stemmed English tokens, saved beside the vectors."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

_TOKEN = re.compile(r"\w\w+|\d", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def _bm25s():  # type: ignore[no-untyped-def]
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    return bm25s


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


class LexicalIndex:
    """BM25 over a list of passages; ``ids`` maps each row to the caller's integer id."""

    def __init__(  # type: ignore[no-untyped-def]
        self, bm25, ids: np.ndarray, df: dict[str, int] | None = None
    ) -> None:
        self._bm25 = bm25
        self.ids = ids
        #: In how many passage bodies (without their headings) each stem occurs.
        self.df = df or {}

    @classmethod
    def build(
        cls, texts: list[str], ids: list[int] | np.ndarray, *, bodies: list[str] | None = None
    ) -> LexicalIndex:
        """BM25 over ``texts``; document frequencies over ``bodies`` (default: ``texts``)."""
        bm25 = _bm25s().BM25()
        tokens = [tokenize(t) or ["\x00empty"] for t in texts]
        if tokens:
            bm25.index(tokens, show_progress=False)
        df: Counter[str] = Counter()
        for body in texts if bodies is None else bodies:
            df.update(set(tokenize(body)))
        return cls(bm25 if tokens else None, np.asarray(ids, dtype=np.int64), dict(df))

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row (zeros when no query term is known)."""
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        vocab = self._bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (id, score) pairs with a positive score, best first."""
        scores = self.scores(query)
        if not len(scores):
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids)
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)
        meta = {"empty": self._bm25 is None, "df": self.df}
        (folder / "lexical.json").write_text(json.dumps(meta, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        bm25s = _bm25s()
        ids = np.load(folder / "ids.npy")
        meta = json.loads((folder / "lexical.json").read_text())
        bm25 = None if meta["empty"] else bm25s.BM25.load(str(folder), show_progress=False)
        return cls(bm25, ids, meta["df"])
