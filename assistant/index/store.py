"""The on-disk index: versions of (FAISS vectors + SQLite chunk store + BM25 + manifest.json).

Layout of the index folder::

    index/
      CURRENT              name of the live version (replaced atomically with os.replace)
      v-20261128T120000-1a2b/
        manifest.json      format version, model, dimension, chunking, document hashes, build time
        chunks.sqlite      the chunk store (text and metadata of every chunk)
        vectors.faiss      IndexIDMap2(IndexFlatIP): normalised vectors, so inner product = cosine
        units.npy          the answer units (sentences) of every chunk: faiss id, start, end
        sentences.npy      their vectors (float16, pooled from the chunk's own model pass)
        words.json         every stem of the corpus, words.npy their vectors (float16) and
        spellings.json     the spelling each was encoded through
        ann.faiss          HNSW over the same vectors, only at ANN_THRESHOLD vectors and more
        lexical/           the BM25 index
      .build-*/            a build in progress (removed if a build dies)

Exact search over every vector is the default; from ``ANN_THRESHOLD`` vectors on, a save also
writes an HNSW graph and searches use it (recall@10 against exact search is measured in
docs/benchmarks.md). The flat file stays the source of truth: builds remove and reuse vectors there.

A build writes a complete new version beside the live one and then swaps CURRENT, so a crash or
Ctrl-C at any moment leaves the previous version loadable. ``save`` and ``load`` mirror each other.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import IndexError_, IndexIncompatibleError, IndexMissingError
from ..ingest.chunking import Chunk
from .ann import ANN, ANN_THRESHOLD, build_ann, load_ann
from .bm25 import LexicalIndex
from .sentences import SentenceVectors
from .words import WordVectors

log = logging.getLogger(__name__)

#: 2: sentence vectors stored with each version. 3: word vectors too. 4: each chunk's language.
FORMAT_VERSION = 4
POINTER = "CURRENT"
MANIFEST = "manifest.json"
CHUNKS_DB = "chunks.sqlite"
VECTORS = "vectors.faiss"
LEXICAL = "lexical"

_COLUMNS = (
    "id",
    "faiss_id",
    "document",
    "title",
    "section",
    "text",
    "start",
    "end",
    "page",
    "source",
    "date",
    "position",
    "text_hash",
    "language",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
  id TEXT NOT NULL, faiss_id INTEGER PRIMARY KEY, document TEXT NOT NULL, title TEXT, section TEXT,
  text TEXT NOT NULL, start INTEGER, "end" INTEGER, page INTEGER, source TEXT, date TEXT,
  position INTEGER, text_hash TEXT, language TEXT
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document);
"""
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in _COLUMNS) + " FROM chunks"


def _faiss() -> ModuleType:
    import faiss

    return faiss


@dataclass
class Manifest:
    """What a version holds and how it was built."""

    model: str
    dimension: int
    chunking: dict[str, int]
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    built_at: str = ""
    version: str = ""
    next_id: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    last_build: dict[str, Any] = field(default_factory=dict)

    @property
    def chunk_count(self) -> int:
        return sum(int(d.get("chunks", 0)) for d in self.documents.values())

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def check_format(manifest: Manifest) -> None:
    """Refuse a version written in another format (before reading its files)."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexIncompatibleError(
            f"The index has format version {manifest.format_version}, this program needs "
            f"{FORMAT_VERSION}; run `espoo-assistant build` to rebuild it."
        )


def check_compatible(manifest: Manifest, *, model: str, chunking: dict[str, int]) -> None:
    """Refuse an index built with another format, model or chunking settings."""
    check_format(manifest)
    if manifest.model != model:
        raise IndexIncompatibleError(
            f"The index was built with the model {manifest.model!r}, but the model setting is "
            f"{model!r}; run `espoo-assistant build` to rebuild it."
        )
    if manifest.chunking != chunking:
        raise IndexIncompatibleError(
            f"The index was built with chunking {manifest.chunking}, the settings say {chunking}; "
            "run `espoo-assistant build` to rebuild it."
        )


class IndexVersion:
    """One loaded, immutable version of the index: vectors, chunks and BM25, ready to search."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        vectors: Any,
        chunks: dict[int, Chunk],
        text_hashes: dict[int, str],
        lexical: LexicalIndex,
        sentences: SentenceVectors,
        *,
        words: WordVectors | None = None,
        ann: Any = None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.vectors = vectors  # faiss.IndexIDMap2
        self.chunks = chunks  # faiss id -> Chunk
        self.text_hashes = text_hashes
        self.lexical = lexical
        self.sentences = sentences
        self.words = words if words is not None else WordVectors.empty()
        self.ann = ann  # faiss.IndexIDMap(IndexHNSWFlat) for large indexes, else None
        self.by_chunk_id = {c.id: fid for fid, c in chunks.items()}

    @property
    def name(self) -> str:
        return self.manifest.version

    def __len__(self) -> int:
        return len(self.chunks)

    def dense_search(self, query_vectors: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """For each query row: up to ``k`` (faiss id, cosine) pairs, best first."""
        if not len(self.chunks):
            return [[] for _ in range(len(query_vectors))]
        index = self.ann if self.ann is not None else self.vectors
        scores, ids = index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0]
            for row_ids, row_scores in zip(ids, scores, strict=True)
        ]

    def vectors_of(self, faiss_ids: Iterable[int]) -> np.ndarray:
        ids = list(faiss_ids)
        if not ids:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        return np.vstack([self.vectors.reconstruct(int(i)) for i in ids]).astype(np.float32)


# --- pointer and versions ----------------------------------------------------------------------


def current_version_dir(index_dir: Path) -> Path | None:
    """The live version folder, or None when no index has been built."""
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def publish(index_dir: Path, version_dir: Path) -> None:
    """Make ``version_dir`` the live version: one atomic rename of the pointer file."""
    tmp = index_dir / f".{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(version_dir.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / POINTER)
    _fsync_dir(index_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- save / load ------------------------------------------------------------------------------


def save_version(
    folder: Path,
    manifest: Manifest,
    vectors: Any,
    chunks: dict[int, Chunk],
    text_hashes: dict[int, str],
    sentences: SentenceVectors,
    words: WordVectors | None = None,
    *,
    ann_threshold: int | None = None,
) -> None:
    """Write a complete version into an empty ``folder`` (the mirror of ``load_version``).

    With ``ann_threshold`` (default ``ANN_THRESHOLD``) vectors or more, an HNSW graph is saved too.
    """
    folder.mkdir(parents=True, exist_ok=False)
    db = sqlite3.connect(folder / CHUNKS_DB)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            f"INSERT INTO chunks VALUES ({', '.join('?' * len(_COLUMNS))})",
            (_row(fid, c, text_hashes.get(fid, "")) for fid, c in chunks.items()),
        )
        db.commit()
    finally:
        db.close()
    _faiss().write_index(vectors, str(folder / VECTORS))
    words = words if words is not None else WordVectors.empty(int(vectors.d))
    written = [CHUNKS_DB, VECTORS, *sentences.save(folder), *words.save(folder)]
    if vectors.ntotal >= (ANN_THRESHOLD if ann_threshold is None else ann_threshold):
        _faiss().write_index(build_ann(vectors), str(folder / ANN))
        written.append(ANN)
    ordered = sorted(chunks)
    texts = [chunks[i].embedding_text() for i in ordered]
    bodies = [chunks[i].text for i in ordered]
    languages = [chunks[i].language for i in ordered]
    LexicalIndex.build(texts, ordered, bodies=bodies, languages=languages).save(folder / LEXICAL)
    with open(folder / MANIFEST, "w", encoding="utf-8") as fh:
        fh.write(manifest.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    for name in written:
        with open(folder / name, "rb") as fh:
            os.fsync(fh.fileno())


def read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest.from_json((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexError_(
            f"The index version {folder.name} has no manifest; run `espoo-assistant build --full`."
        ) from exc
    except (json.JSONDecodeError, TypeError) as exc:
        raise IndexError_(
            f"The manifest of index version {folder.name} is damaged; "
            "run `espoo-assistant build --full`."
        ) from exc


def load_version(folder: Path, *, read_only: bool = False) -> IndexVersion:
    """Load a version folder; a damaged one raises IndexError_ with what to do.

    ``read_only`` versions (for serving, never for building on) that have an HNSW graph map their
    flat vectors from disk instead of reading them: searches use the graph, so the flat copy
    costs no memory. Such a version's ``vectors`` must not be changed (FAISS would crash).
    """
    manifest = read_manifest(folder)
    check_format(manifest)
    faiss = _faiss()
    mmap = read_only and (folder / ANN).is_file() and hasattr(faiss, "IO_FLAG_MMAP_IFC")
    try:
        vectors = faiss.read_index(str(folder / VECTORS), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
    except RuntimeError as exc:
        raise IndexError_(
            f"The vector file of index version {folder.name} is damaged or missing; "
            "run `espoo-assistant build --full`."
        ) from exc
    db_path = folder / CHUNKS_DB
    if not db_path.is_file():
        raise IndexError_(
            f"The chunk store of index version {folder.name} is missing; "
            "run `espoo-assistant build --full`."
        )
    chunks: dict[int, Chunk] = {}
    hashes: dict[int, str] = {}
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            for row in db.execute(_SELECT):
                fid, chunk, text_hash = _from_row(row)
                chunks[fid] = chunk
                hashes[fid] = text_hash
        finally:
            db.close()
        lexical = LexicalIndex.load(folder / LEXICAL)
        sentences = SentenceVectors.load(folder)
        words = WordVectors.load(folder)
    except (sqlite3.Error, OSError, ValueError, KeyError) as exc:
        raise IndexError_(
            f"Index version {folder.name} is damaged ({exc}); run `espoo-assistant build --full`."
        ) from exc
    sizes = (vectors.ntotal, len(lexical), len(sentences.units) - len(sentences.vectors))
    if sizes != (len(chunks), len(chunks), 0):
        raise IndexError_(
            f"Index version {folder.name} is inconsistent ({vectors.ntotal} vectors, "
            f"{len(chunks)} chunks); run `espoo-assistant build --full`."
        )
    ann = load_ann(folder, vectors)
    return IndexVersion(
        folder, manifest, vectors, chunks, hashes, lexical, sentences, words=words, ann=ann
    )


def load_index(index_dir: Path, *, model: str, chunking: dict[str, int]) -> IndexVersion:
    """Load the live version to serve (read-only), refusing one built with other settings."""
    folder = current_version_dir(index_dir)
    if folder is None:
        raise IndexMissingError(
            f"No index found in {index_dir}; run `espoo-assistant build` (or `make run`) first."
        )
    version = load_version(folder, read_only=True)
    check_compatible(version.manifest, model=model, chunking=chunking)
    return version


def new_vector_index(dimension: int) -> Any:
    faiss = _faiss()
    # Vectors are L2-normalised, so inner product is cosine similarity.
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def _row(fid: int, c: Chunk, text_hash: str) -> tuple[Any, ...]:
    head = (c.id, fid, c.document, c.title, c.section, c.text, c.start, c.end, c.page)
    return (*head, c.source, c.date, c.position, text_hash, c.language)


def _from_row(row: tuple[Any, ...]) -> tuple[int, Chunk, str]:
    (
        cid,
        fid,
        document,
        title,
        section,
        text,
        start,
        end,
        page,
        source,
        date,
        position,
        text_hash,
        language,
    ) = row
    chunk = Chunk(
        id=cid,
        document=document,
        title=title or "",
        section=section or "",
        text=text,
        start=int(start),
        end=int(end),
        page=page,
        source=source or "",
        date=date or "",
        position=int(position or 0),
        language=language or "en",
    )
    return int(fid), chunk, text_hash or ""
