"""Sentence vectors of an index version: each chunk's answer units and their vectors.

The build pools them from each passage's own model pass (see ``embeddings.embed_with_spans``);
the answer step compares them with the question. Stored as two arrays beside the vectors and
mapped from disk when loaded, so an answer reads only the rows of its few passages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

UNITS = "units.npy"
SENTENCES = "sentences.npy"

#: One chunk's answer units: (start, end) character offsets in its text, and their vectors.
UnitVectors = tuple[np.ndarray, np.ndarray]


class SentenceVectors:
    """The answer units of every chunk and their vectors, rows grouped by faiss id."""

    def __init__(self, units: np.ndarray, vectors: np.ndarray) -> None:
        self.units = units  # (M, 3) int64: faiss id, start, end
        self.vectors = vectors  # (M, dim) float16
        self._ids = np.ascontiguousarray(units[:, 0]) if len(units) else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.units)

    def of(self, faiss_id: int) -> UnitVectors:
        """The unit offsets (k, 2) and vectors (k, dim) of one chunk."""
        lo, hi = np.searchsorted(self._ids, [faiss_id, faiss_id + 1])
        return self.units[lo:hi, 1:], self.vectors[lo:hi]

    @classmethod
    def collect(cls, parts: dict[int, UnitVectors], dimension: int) -> SentenceVectors:
        """One store from each chunk's (offsets, vectors)."""
        fids = sorted(parts)
        units = [
            np.column_stack([np.full(len(parts[f][0]), f, np.int64), parts[f][0]])
            for f in fids
            if len(parts[f][0])
        ]
        vecs = [parts[f][1] for f in fids if len(parts[f][0])]
        return cls(
            np.vstack(units).astype(np.int64) if units else np.zeros((0, 3), np.int64),
            np.vstack(vecs).astype(np.float16) if vecs else np.zeros((0, dimension), np.float16),
        )

    def save(self, folder: Path) -> list[str]:
        """Write both arrays into ``folder``; returns the file names (to fsync)."""
        np.save(folder / UNITS, np.asarray(self.units, dtype=np.int64))
        np.save(folder / SENTENCES, np.asarray(self.vectors, dtype=np.float16))
        return [UNITS, SENTENCES]

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors:
        """Map both arrays from ``folder`` (read-only)."""
        return cls(
            np.load(folder / UNITS, mmap_mode="r"), np.load(folder / SENTENCES, mmap_mode="r")
        )
