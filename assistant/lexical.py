"""Lexical retrieval: BM25 (bm25s) over stemmed English tokens, saved beside the vectors."""

from __future__ import annotations

import json
import re
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


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words removed, Snowball-stemmed tokens."""
    stop = _stopwords()
    words = [w for w in _TOKEN.findall(text.casefold()) if w not in stop]
    return _stemmer().stemWords(words) if words else []


@lru_cache(maxsize=1)
def _question_stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

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


def content_terms(text: str) -> list[str]:
    """The topic-bearing stems of a question: ``tokenize`` minus a broad English stop list."""
    stop = _question_stopwords()
    words = [w for w in _TOKEN.findall(text.casefold()) if w not in stop and not w.isdigit()]
    return _stemmer().stemWords(words) if words else []


class LexicalIndex:
    """BM25 over a list of passages; ``ids`` maps each row to the caller's integer id."""

    def __init__(self, bm25, ids: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        self._bm25 = bm25
        self.ids = ids

    @classmethod
    def build(cls, texts: list[str], ids: list[int] | np.ndarray) -> LexicalIndex:
        bm25 = _bm25s().BM25()
        tokens = [tokenize(t) or ["\x00empty"] for t in texts]
        if tokens:
            bm25.index(tokens, show_progress=False)
        return cls(bm25 if tokens else None, np.asarray(ids, dtype=np.int64))

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

    def document_frequencies(self) -> dict[str, int]:
        """How many passages hold each stem, read off the BM25 matrix (no re-tokenising)."""
        if self._bm25 is None:
            return {}
        per_token = np.diff(np.asarray(self._bm25.scores["indptr"]))
        return {
            term: int(per_token[i])
            for term, i in self._bm25.vocab_dict.items()
            if i < len(per_token) and per_token[i] > 0
        }

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids)
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)
        (folder / "lexical.json").write_text(json.dumps({"empty": self._bm25 is None}))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        bm25s = _bm25s()
        ids = np.load(folder / "ids.npy")
        empty = json.loads((folder / "lexical.json").read_text())["empty"]
        bm25 = None if empty else bm25s.BM25.load(str(folder), show_progress=False)
        return cls(bm25, ids)
