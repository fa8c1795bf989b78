"""Lexical retrieval: BM25 (bm25s) over the tokens of ``text.tokenize``, saved with the vectors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from ..text import tokenize


def _bm25s():  # type: ignore[no-untyped-def]
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    return bm25s


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
