"""Lexical retrieval: BM25 (bm25s) over the tokens of ``text.tokenize``, saved with the vectors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..text import respellings, tokenize, words


def _bm25s() -> Any:  # bm25s has no type information
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    return bm25s


#: What ``lexical.json`` holds: 2 since the respellings (a file without a format is 1). A build
#: over an index of an older format writes a new version even when no document changed.
FORMAT = 2


class LexicalIndex:
    """BM25 over a list of passages; ``ids`` maps each row to the caller's integer id."""

    def __init__(
        self,
        bm25: Any,
        ids: np.ndarray,
        df: dict[str, int] | None = None,
        only_in: dict[str, str] | None = None,
        respellings: dict[str, str] | None = None,
        format: int = FORMAT,
    ) -> None:
        self._bm25 = bm25
        #: The format it was saved in (``FORMAT``).
        self.format = format
        self.ids = ids
        #: In how many passage bodies (without their headings) each stem occurs.
        self.df = df or {}
        #: Words that passages of one language alone use, and that language ("tonnes": "en",
        #: "päästöt": "fi"): evidence of a question's language. Words of several languages
        #: ("espoo", "nuuksio") are names and tell nothing.
        self.only_in = only_in or {}
        #: The passages' words with ä, ö or å as typed without them, when that is no word of
        #: the passages, and their spelling ("paastot": "päästöt"; ``text.respellings``).
        self.respellings = respellings or {}

    @classmethod
    def build(
        cls,
        texts: list[str],
        ids: list[int] | np.ndarray,
        *,
        bodies: list[str] | None = None,
        languages: list[str] | None = None,
    ) -> LexicalIndex:
        """BM25 over ``texts``, each tokenised in its language (``languages``, default English);
        document frequencies over ``bodies`` (default: ``texts``)."""
        bm25 = _bm25s().BM25()
        langs = languages or ["en"] * len(texts)
        tokens = [tokenize(t, lang) or ["\x00empty"] for t, lang in zip(texts, langs, strict=True)]
        if tokens:
            bm25.index(tokens, show_progress=False)
        df: Counter[str] = Counter()
        used: dict[str, set[str]] = {}
        for body, lang in zip(texts if bodies is None else bodies, langs, strict=True):
            df.update(set(tokenize(body, lang)))
            used.setdefault(lang, set()).update(w for w in words(body) if w.isalpha())
        only_in = _only_in(used)
        spellings = respellings(set().union(*used.values()))
        return cls(
            bm25 if tokens else None, np.asarray(ids, dtype=np.int64), dict(df), only_in, spellings
        )

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str, language: str = "en") -> np.ndarray:
        """BM25 score of every row (zeros when no query term is known). A query in Finnish or
        Swedish is read in its language and in English too (names, figures and loan words
        stem alike there), so it also finds passages in English."""
        tokens = tokenize(query, language)
        if language != "en":
            tokens = list(dict.fromkeys(tokens + tokenize(query)))
        if self._bm25 is None or not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        vocab = self._bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def search(self, query: str, k: int, language: str = "en") -> list[tuple[int, float]]:
        """The ``k`` best (id, score) pairs with a positive score, best first."""
        scores = self.scores(query, language)
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
        meta = {
            "format": FORMAT,
            "empty": self._bm25 is None,
            "df": self.df,
            "only_in": self.only_in,
            "respellings": self.respellings,
        }
        (folder / "lexical.json").write_text(json.dumps(meta, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        bm25s = _bm25s()
        ids = np.load(folder / "ids.npy")
        meta = json.loads((folder / "lexical.json").read_text())
        bm25 = None if meta["empty"] else bm25s.BM25.load(str(folder), show_progress=False)
        return cls(
            bm25,
            ids,
            meta["df"],
            meta.get("only_in", {}),
            meta.get("respellings", {}),
            format=meta.get("format", 1),
        )


def _only_in(vocabularies: dict[str, set[str]]) -> dict[str, str]:
    """Each word that one language's vocabulary alone holds, and that language."""
    owners: dict[str, list[str]] = {}
    for language, vocabulary in vocabularies.items():
        for word in vocabulary:
            owners.setdefault(word, []).append(language)
    return {w: langs[0] for w, langs in owners.items() if len(langs) == 1}
