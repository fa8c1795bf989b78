"""Evidence: score the sentences of retrieved passages against the question.

A sentence's score mixes its semantic similarity to the question with how much of the question's
informative vocabulary (IDF-weighted stems) it contains, plus a little credit for its passage's rank.
The best score is the assistant's confidence: below ``Settings.min_evidence`` it refuses.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from .chunking import split_sentences
from .embeddings import Embedder
from .index import IndexVersion
from .lexical import tokenize
from .retrieval import Hit

#: Weights of semantic similarity, word overlap and passage rank in a sentence's score.
W_SEMANTIC, W_OVERLAP, W_RANK = 0.6, 0.35, 0.05
MIN_SENTENCE_CHARS = 25
#: Two sentences this similar say the same thing; the answer keeps one.
REDUNDANT = 0.9
_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, scored against the question."""

    text: str
    start: int
    hit_index: int
    hit: Hit
    score: float
    semantic: float
    overlap: float
    vector: np.ndarray = field(repr=False, compare=False)

    def redundant_with(self, other: Candidate) -> bool:
        return float(self.vector @ other.vector) >= REDUNDANT or self.text == other.text


class EvidenceScorer:
    """Scores candidate sentences; sentence vectors are cached across questions."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._idf: dict[str, tuple[str, dict[str, float], float]] = {}

    def rank(
        self,
        version: IndexVersion,
        question: str,
        query: str,
        query_vector: np.ndarray,
        hits: list[Hit],
    ) -> list[Candidate]:
        """All usable sentences of ``hits``, best first."""
        spans = [
            (i, hit, s)
            for i, hit in enumerate(hits)
            for s in split_sentences(hit.chunk.text)
            if s.end - s.start >= MIN_SENTENCE_CHARS
        ]
        if not spans:
            return []
        texts = [hit.chunk.text[s.start : s.end] for _, hit, s in spans]
        vectors = self._vectors(texts)
        semantic = vectors @ query_vector.reshape(-1)
        idf = self._idf_for(version)
        q_terms = _weighted_terms(question, idf)
        ctx_terms = _weighted_terms(query, idf) if query != question else q_terms
        candidates = []
        for (i, hit, span), text, vec, sem in zip(spans, texts, vectors, semantic, strict=True):
            terms = set(tokenize(text)) | set(tokenize(hit.chunk.title + " " + hit.chunk.section))
            overlap = 0.7 * _coverage(q_terms, terms) + 0.3 * _coverage(ctx_terms, terms)
            rank_credit = 1.0 / (1 + i)
            score = W_SEMANTIC * float(sem) + W_OVERLAP * overlap + W_RANK * rank_credit
            candidates.append(
                Candidate(text, span.start, i, hit, score, float(sem), overlap, vec)
            )
        candidates.sort(key=lambda c: -c.score)
        return candidates

    def _vectors(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            encoded = self.embedder.encode(missing, batch_size=64)
            with self._lock:
                for text, vec in zip(missing, encoded, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._lock:
            return np.vstack([self._cache[t] for t in texts])

    def _idf_for(self, version: IndexVersion) -> tuple[dict[str, float], float]:
        """Inverse document frequency of each stem over the version's chunks (computed once)."""
        cached = self._idf.get("v")
        if cached is not None and cached[0] == version.name:
            return cached[1], cached[2]
        df: dict[str, int] = {}
        for chunk in version.chunks.values():
            for term in set(tokenize(chunk.text)):
                df[term] = df.get(term, 0) + 1
        n = max(len(version.chunks), 1)
        idf = {t: math.log(1 + n / c) for t, c in df.items()}
        unseen = math.log(1 + n)
        self._idf["v"] = (version.name, idf, unseen)
        return idf, unseen


def _weighted_terms(text: str, idf: tuple[dict[str, float], float]) -> dict[str, float]:
    table, unseen = idf
    return {t: table.get(t, unseen) for t in set(tokenize(text))}


def _coverage(weights: dict[str, float], terms: set[str]) -> float:
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(w for t, w in weights.items() if t in terms) / total
