"""Each passage language's background similarity to a question, so that languages rank fairly.

A multilingual encoder scores a passage in the question's own language higher than a passage in
another language that says the same thing: for "sedan när har esbo haft beredskap för
översvämningar?" multilingual-e5-small ranks five general Swedish passages above the English one
that answers it (docs/evaluation.md, row 92). Ranking each candidate by its lead over its
language's background for this question (the mean of the question's cosines with a fixed sample
of that language's passages) removes the preference. The retriever does so for Finnish and
Swedish questions: for an English one, the best of a small language's passages would rise out of
noise when nothing answers (a prompt injection answered from a Finnish passage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..ingest.chunking import Chunk

#: Passages per language whose cosines with the question give its background.
SAMPLE = 512
#: A language with fewer passages shares the background of all passages.
MIN_PASSAGES = 20
_ALL = ""


@dataclass(frozen=True)
class LanguageBackground:
    """A sample of passage vectors per language, and each passage's background."""

    samples: dict[str, np.ndarray]  # background name -> sample vectors, one per row
    background_of: dict[int, str]  # faiss id -> background name

    @classmethod
    def of(
        cls, chunks: Mapping[int, Chunk], vectors_of: Callable[[Iterable[int]], np.ndarray]
    ) -> LanguageBackground:
        """The backgrounds of an index's passages (``vectors_of``: faiss ids -> their vectors)."""
        by_language: dict[str, list[int]] = {}
        for faiss_id in sorted(chunks):
            by_language.setdefault(chunks[faiss_id].language, []).append(faiss_id)
        if len(by_language) < 2:
            return cls({}, {})
        named = {
            language: (language if len(ids) >= MIN_PASSAGES else _ALL)
            for language, ids in by_language.items()
        }
        groups: dict[str, list[int]] = {_ALL: sorted(chunks)}
        for language, ids in by_language.items():
            if named[language] != _ALL:
                groups[language] = ids
        samples = {name: vectors_of(_evenly(ids, SAMPLE)) for name, ids in groups.items()}
        background_of = {
            faiss_id: named[language] for language, ids in by_language.items() for faiss_id in ids
        }
        return cls(samples, background_of)

    def above_background(
        self, query_vector: np.ndarray, hits: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """``hits`` (faiss id, cosine) re-scored as their lead over the mean cosine of their
        language's sample with this query, best first; unchanged for a one-language index."""
        if not self.samples or not hits:
            return hits
        query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        means = {name: float((sample @ query).mean()) for name, sample in self.samples.items()}
        rescored = [
            (faiss_id, score - means[self.background_of.get(faiss_id, _ALL)])
            for faiss_id, score in hits
        ]
        return sorted(rescored, key=lambda item: (-item[1], item[0]))


def _evenly(ids: list[int], n: int) -> list[int]:
    """At most ``n`` of ``ids``, spread evenly (deterministic)."""
    if len(ids) <= n:
        return ids
    picks = np.linspace(0, len(ids) - 1, n).round().astype(int)
    return [ids[i] for i in sorted(set(picks.tolist()))]
