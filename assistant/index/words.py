"""Word vectors: the model's vector of every word of the corpus, stored with each index version.

Sentence scoring counts the question's words that a sentence contains. Exact stems miss words
the stemmer keeps apart or that mean the same ("lower" and "low", "bus" and "buses", "build"
and "construct"); two words whose vectors are at least ``SIMILAR_WORD`` alike count as the same
word, weighted by their similarity. Words with digits never match others ("2035" is not "2030").
The build encodes each stem once, through its most frequent spelling, and reuses the vectors of
the previous version for the stems it already had through the same spelling: a document that
makes another spelling the most frequent one has that stem encoded anew, so that an incremental
build's table is the one a full build of the same documents writes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ..text import search_words, stems
from .scale import Scale

WORDS = "words.npy"
WORD_LIST = "words.json"
#: The spelling each stem was encoded through (a table saved without it is re-encoded once).
WORD_SPELLINGS = "spellings.json"
#: Two words this alike (cosine of their vectors) count as one word, weighted by the cosine.
#: Morphological variants and close synonyms pass ("bus"/"buses" 0.88, "build"/"construct"
#: 0.86); related words of another meaning mostly do not ("helsinki"/"finland" 0.79).
SIMILAR_WORD = 0.8

Encode = Callable[[list[str]], np.ndarray]


def spellings(texts: Iterable[str]) -> dict[str, str]:
    """Each stem of ``texts`` (stop words and words with digits left out) and its most frequent
    spelling there."""
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        words = [w for w in search_words(text) if wordlike(w)]
        for word, stem in zip(words, stems(words), strict=True):
            counts[stem][word] += 1
    return {stem: c.most_common(1)[0][0] for stem, c in counts.items()}


def wordlike(token: str) -> bool:
    """Whether a token may match other words: numbers and codes ("2030", "co2") never do."""
    return not any(ch.isdigit() for ch in token)


class WordVectors:
    """Unit vectors of stems (rows in ``stems`` order), float16, and the spelling each was
    encoded through (empty when not known)."""

    def __init__(self, stems_: list[str], vectors: np.ndarray, spelled: Sequence[str] = ()) -> None:
        self.stems = stems_
        self.vectors = vectors
        self.row = {s: i for i, s in enumerate(stems_)}
        self.spelled = list(spelled)

    def encoded_as(self, stem: str, spelling: str) -> bool:
        """Whether the table holds ``stem``'s vector as encoded through ``spelling``."""
        return bool(self.spelled) and stem in self.row and self.spelled[self.row[stem]] == spelling

    def __len__(self) -> int:
        return len(self.stems)

    @classmethod
    def empty(cls, dimension: int = 0) -> WordVectors:
        return cls([], np.zeros((0, dimension), np.float16))

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        encode: Encode,
        dimension: int,
        previous: WordVectors | None = None,
    ) -> WordVectors:
        """The vectors of every stem in ``texts``; stems ``previous`` encoded through the same
        spelling keep their vectors."""
        spelling = spellings(texts)
        ordered = sorted(spelling)
        old = (
            previous
            if previous is not None and previous.vectors.shape[1:] == (dimension,)
            else None
        )
        todo = [s for s in ordered if old is None or not old.encoded_as(s, spelling[s])]
        fresh = encode([spelling[s] for s in todo]) if todo else np.zeros((0, dimension))
        new_row = {s: i for i, s in enumerate(todo)}
        vectors = np.zeros((len(ordered), dimension), np.float16)
        for i, stem in enumerate(ordered):
            source = fresh[new_row[stem]] if stem in new_row else old.vectors[old.row[stem]]  # type: ignore[union-attr]
            vectors[i] = source
        return cls(ordered, vectors, [spelling[s] for s in ordered])

    def near(
        self,
        query: dict[str, np.ndarray],
        candidates: Iterable[str],
        scale: Scale | None = None,
    ) -> dict[str, dict[str, float]]:
        """For each query stem, the candidate stems (other than itself) at least ``SIMILAR_WORD``
        alike, with their cosine; with ``scale``, both on the reference scale (``index.scale``)."""
        known = [s for s in set(candidates) if s in self.row]
        if not query or not known:
            return {}
        matrix = self.vectors[[self.row[s] for s in known]].astype(np.float32)
        names = list(query)
        sims = matrix @ np.vstack([query[n] for n in names]).astype(np.float32).T
        if scale is not None:
            sims = np.minimum(np.asarray(scale(sims)), 1.0)
        out: dict[str, dict[str, float]] = {}
        for j, name in enumerate(names):
            close = np.flatnonzero(sims[:, j] >= SIMILAR_WORD)
            found = {known[i]: float(sims[i, j]) for i in close if known[i] != name}
            if found:
                out[name] = found
        return out

    def save(self, folder: Path) -> list[str]:
        np.save(folder / WORDS, np.asarray(self.vectors, dtype=np.float16))
        (folder / WORD_LIST).write_text(json.dumps(self.stems, ensure_ascii=False), "utf-8")
        spelled = json.dumps(self.spelled, ensure_ascii=False)
        (folder / WORD_SPELLINGS).write_text(spelled, "utf-8")
        return [WORDS, WORD_LIST, WORD_SPELLINGS]

    @classmethod
    def load(cls, folder: Path) -> WordVectors:
        """The saved table; the vectors stay on disk (memory-mapped) until rows are read."""
        stems_ = json.loads((folder / WORD_LIST).read_text("utf-8"))
        vectors = np.load(folder / WORDS, mmap_mode="r")
        if len(stems_) != len(vectors):
            raise ValueError(f"{len(stems_)} words but {len(vectors)} word vectors")
        spelled_at = folder / WORD_SPELLINGS
        spelled = json.loads(spelled_at.read_text("utf-8")) if spelled_at.exists() else []
        if spelled and len(spelled) != len(stems_):
            raise ValueError(f"{len(stems_)} words but {len(spelled)} spellings")
        return cls(stems_, vectors, spelled)
