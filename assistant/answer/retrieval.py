"""Retrieval: dense (FAISS) and lexical (BM25) candidates, fused, diversified across documents."""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..config import DEFAULT_TOP_K
from ..embed.base import Embedder, encode_small
from ..index.ann import serve_single_threaded
from ..index.store import IndexVersion
from ..ingest.chunking import Chunk
from .tuning import DEFAULT, Tuning


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the two component scores."""

    chunk: Chunk
    score: float
    dense: float
    lexical: float
    faiss_id: int


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    top_dense: float
    version: str
    seconds: float


class Retriever:
    """Hybrid search over one index version at a time (the caller passes the version)."""

    def __init__(self, embedder: Embedder, *, tuning: Tuning = DEFAULT) -> None:
        self.embedder = embedder
        self.tuning = tuning
        serve_single_threaded()
        #: Reads the question's twin while the caller embeds and searches with its vector: a
        #: question's model calls run on one thread each, so the two overlap on a second core.
        self._twins = ThreadPoolExecutor(max_workers=2, thread_name_prefix="twin")

    def embed_query(self, query: str) -> np.ndarray:
        """The question's vector (read in the "query" role, which e5 models prefix)."""
        return self.embedder.encode([query], batch_size=1, role="query")

    def embed_twin(self, query: str) -> np.ndarray | None:
        """The question read in the "passage" role, as its sentences were: a second view of it
        for a model trained with two prompts (e5); None for a model that reads both alike."""
        if not self.embedder.dimension:  # loads the model, which sets its prompts
            return None
        prompts = getattr(self.embedder, "prompts", None) or {}
        if prompts.get("passage", "") == prompts.get("query", ""):
            return None
        return self.embedder.encode([query], batch_size=1, role="passage")

    def start_twin(self, query: str) -> Future[np.ndarray | None]:
        """``embed_twin`` of ``query``, started in a worker thread (``result()`` waits for it)."""
        return self._twins.submit(self.embed_twin, query)

    def embed_words(self, words: list[str]) -> np.ndarray:
        """One vector per word (words a question has and the corpus lacks), in calls as small as
        a question's, so they run on the serving session, not the bulk one (which would first
        have to be loaded). Words are read in the "query" role, as the corpus's words are."""
        return encode_small(self.embedder, words, role="query")

    def search(
        self,
        version: IndexVersion,
        query: str,
        *,
        k: int = DEFAULT_TOP_K,
        mode: str = "hybrid",
        diversify: bool = True,
        query_vector: np.ndarray | None = None,
        lexical_query: str | None = None,
        held_back: int = 0,
        language: str = "en",
    ) -> SearchResult:
        """The ``k`` best chunks for ``query``; ``mode`` is 'hybrid', 'dense' or 'lexical'.

        ``lexical_query`` (default ``query``) is what BM25 reads, e.g. with synonyms added.
        ``held_back``: see ``diversified``. ``language`` is the query's (BM25 stems it so).
        """
        started = time.perf_counter()
        depth = max(self.tuning.candidates, k)
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            vector = self.embed_query(query) if query_vector is None else query_vector
            dense = version.dense_search(vector, depth)[0]
        if mode in ("hybrid", "lexical"):
            lexical = version.lexical.search(lexical_query or query, depth, language)
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = fuse(dense, lexical, tuning=self.tuning)
        dense_of, lexical_of = dict(dense), dict(lexical)
        hits = [
            Hit(version.chunks[i], s, dense_of.get(i, 0.0), lexical_of.get(i, 0.0), i)
            for i, s in fused
            if i in version.chunks
        ]
        cap = self.tuning.max_per_document
        hits = diversified(hits, k, cap, held_back=held_back) if diversify else hits[:k]
        top_dense = dense[0][1] if dense else 0.0
        return SearchResult(hits, top_dense, version.name, time.perf_counter() - started)


def fuse(
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    *,
    tuning: Tuning = DEFAULT,
) -> list[tuple[int, float]]:
    """Combine two ranked lists of (id, score) into one, best first: a blend of their min-max
    normalised scores (it beat reciprocal rank fusion on the Espoo questions and on SciFact,
    ``docs/evaluation.md``)."""
    scores: dict[int, float] = defaultdict(float)
    share = tuning.blend_dense_weight
    for ranking, weight in ((dense, share), (lexical, 1 - share)):
        if not ranking:
            continue
        values = np.array([s for _, s in ranking], dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        span = (high - low) or 1.0
        for i, s in ranking:
            scores[i] += weight * (s - low) / span
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def diversified(
    hits: list[Hit],
    k: int,
    per_document: int = DEFAULT.max_per_document,
    *,
    held_back: int = 0,
) -> list[Hit]:
    """Top ``k``, at most ``per_document`` chunks per document unless too few documents match.

    Then up to ``held_back`` passages that the cap kept out although they score as well as the
    last one taken: the evidence read for an answer keeps a document's fourth strong passage
    (the one with "would be updated in 2026"), while the top of the list stays diverse.
    """
    chosen: list[Hit] = []
    counts: dict[str, int] = defaultdict(int)
    for hit in hits:
        if len(chosen) == k:
            break
        if counts[hit.chunk.document] < per_document:
            chosen.append(hit)
            counts[hit.chunk.document] += 1
    if len(chosen) < k:  # only a few documents are relevant: their further passages come last
        taken = {h.faiss_id for h in chosen}
        chosen += [h for h in hits if h.faiss_id not in taken][: k - len(chosen)]
    elif held_back and chosen:
        taken = {h.faiss_id for h in chosen}
        floor = chosen[-1].score
        chosen += [h for h in hits if h.faiss_id not in taken and h.score >= floor][:held_back]
    return chosen
