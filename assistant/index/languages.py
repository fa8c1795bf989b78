"""Language axes: the directions in which an encoder keeps the corpus's languages apart.

A multilingual encoder gives every text's vector a component that says which language it is in:
with multilingual-e5-small a Finnish question lies nearer to Finnish passages on other topics
than to the English passage that answers it. The differences between the languages' mean
passage vectors estimate that component (Libovický et al. 2020, "On the Language Neutrality of
Pre-trained Multilingual Representations"); a question's vector with it projected out is closer
to what the question is about, whatever the language of the passage that answers it.

The build measures the axes on the corpus's own passages (a language counts from
``MIN_PASSAGES`` passages on) and stores them in the manifest; the retriever scores a passage by
the better of its cosine with the question and with the question projected off them
(``Settings.language_neutral``): projecting it outright would also drop the language a passage
shares with the question, which is evidence too. Projecting only the query is enough: for unit
vectors, (Pq)·p = (Pq)·(Pp) when P is the projection. An English-only encoder (MiniLM) does not
align languages in the first place, and loses with it (docs/evaluation.md, row 105).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..ingest.chunking import Chunk

#: Passages a language needs before its mean vector is trusted (a handful would mostly measure
#: their topics).
MIN_PASSAGES = 20


def language_axes(vectors: np.ndarray, languages: Sequence[str]) -> np.ndarray:
    """Orthonormal rows spanning the differences between the languages' mean vectors; none
    (shape (0, dim)) for a corpus with fewer than two languages of ``MIN_PASSAGES`` passages."""
    vectors = np.asarray(vectors, dtype=np.float64)
    tags = np.asarray(languages)
    present = sorted(x for x in set(languages) if int((tags == x).sum()) >= MIN_PASSAGES)
    if len(present) < 2:
        return np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    means = np.stack([vectors[tags == x].mean(axis=0) for x in present])
    basis, _ = np.linalg.qr((means[1:] - means[0]).T)
    return basis.T.astype(np.float32)


def index_axes(index: Any, chunks: Mapping[int, Chunk]) -> list[list[float]]:
    """``language_axes`` of the passages in a FAISS IndexIDMap2 over a flat index (``chunks`` by
    faiss id), as lists for the manifest."""
    import faiss

    count, dimension = int(index.ntotal), int(index.d)
    if not count:
        return []
    xb = faiss.downcast_index(index.index).get_xb()  # type: ignore[attr-defined]
    flat = faiss.rev_swig_ptr(xb, count * dimension).reshape(count, dimension)
    ids = faiss.vector_to_array(index.id_map)
    axes = language_axes(flat, [chunks[int(i)].language for i in ids])
    return [[round(float(v), 6) for v in row] for row in axes]


def neutral(vectors: np.ndarray, axes: Sequence[Sequence[float]]) -> np.ndarray:
    """``vectors`` (rows) with their components along ``axes`` removed, normalised again."""
    if not len(axes):
        return vectors
    basis = np.asarray(axes, dtype=np.float32)
    rows = np.asarray(vectors, dtype=np.float32)
    off: np.ndarray = rows - (rows @ basis.T) @ basis
    norms = np.maximum(np.linalg.norm(off, axis=-1, keepdims=True), 1e-12)
    unit: np.ndarray = (off / norms).astype(np.float32)
    return unit
