"""Incremental, crash-safe index builds.

Documents are compared by content hash with the live version: only new and changed documents are
chunked and embedded (and inside a changed document, only passages whose text changed), removed
documents' chunks are dropped. The result is written as a new version and published atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..embed.base import Embedder, embed_with_spans
from ..errors import IndexError_
from ..ingest.chunking import Chunk, answer_units
from ..ingest.documents import Skipped
from .bm25 import FORMAT as LEXICAL_FORMAT
from .changes import load_changed, scan_documents
from .progress import ProgressFactory, progress_of
from .sentences import SentenceVectors, UnitVectors
from .store import (
    IndexVersion,
    Manifest,
    check_compatible,
    current_version_dir,
    load_version,
    new_vector_index,
    publish,
    save_version,
)
from .words import WordVectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What a build did. ``to_dict`` is the JSON printed by ``build --json``."""

    documents: int
    added: int
    changed: int
    removed: int
    unchanged: int
    skipped: list[Skipped]
    chunks: int
    chunks_embedded: int
    seconds: float
    version: str
    full: bool = False
    reason: str = ""
    embedded_documents: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [asdict(s) for s in self.skipped]
        data["seconds"] = round(self.seconds, 3)
        return data


def text_hash(chunk: Chunk) -> str:
    return hashlib.sha1(chunk.embedding_text().encode()).hexdigest()


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder, across processes."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_index(
    *,
    documents_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    chunk_size: int,
    chunk_overlap: int,
    batch_size: int = 32,
    full: bool = False,
    progress: ProgressFactory | None = None,
) -> BuildReport:
    """Bring the index in ``index_dir`` up to date with ``documents_dir``; return what changed."""
    started = time.perf_counter()
    chunking = {"size": chunk_size, "overlap": chunk_overlap}
    scan = scan_documents(documents_dir)
    with build_lock(index_dir):
        _remove_stale_builds(index_dir)
        old, reason = _previous(index_dir, embedder, chunking, full=full)
        old_docs = old.manifest.documents if old else {}
        unchanged = [d for d, h in scan.hashes.items() if old_docs.get(d, {}).get("hash") == h]
        todo = {d: p for d, p in scan.files.items() if d not in unchanged}
        removed = [d for d in old_docs if d not in scan.files]
        skipped = list(scan.skipped)
        changes = load_changed(scan, todo, skipped, size=chunk_size, overlap=chunk_overlap)
        outdated = old is not None and old.lexical.format < LEXICAL_FORMAT
        if outdated:
            log.info("The word index is of an older format: a new version is written.")
        if old is not None and not changes.chunks and not removed and not outdated:
            return _report(
                kept=old, unchanged=unchanged, skipped=skipped, started=started, reason=reason
            )
        # A document that cannot be read now but was indexed before keeps its last good chunks.
        kept_failed = {d for d in changes.failed if d in old_docs}
        replaced = [d for d in todo if d in old_docs and d not in kept_failed]
        passages = _passages(old, replaced, removed, changes.chunks, embedder, batch_size, progress)
        # A document that failed has no entry in ``changes``: it keeps its old one, or has none.
        documents = {d: v for d, v in old_docs.items() if d in scan.files} | changes.entries
        dimension = int(passages.vectors.d)
        manifest = Manifest(
            model=embedder.model_id,
            dimension=dimension,
            chunking=chunking,
            documents=documents,
            built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            version=_version_name(),
            next_id=passages.next_id,
            skipped=[asdict(s) for s in skipped],
        )
        report = _report(
            manifest=manifest,
            passages=passages,
            unchanged=unchanged,
            added=[d for d in changes.chunks if d not in old_docs],
            changed=[d for d in changes.chunks if d in old_docs],
            removed=removed,
            skipped=skipped,
            started=started,
            reason=reason,
        )
        manifest.last_build = report.to_dict()
        sentences = SentenceVectors.collect(passages.units, dimension)
        words = _word_vectors(embedder, passages.chunks, dimension, old, batch_size, progress)
        previous = old.path.name if old else ""
        _write(index_dir, manifest, passages, sentences, words, previous=previous)
        return report


@dataclass
class _Passages:
    """Every passage of the new version by faiss id (vectors, chunks, text hashes, sentence
    vectors); ``embedded`` are those this build ran through the model."""

    vectors: Any  # a faiss IndexIDMap2
    chunks: dict[int, Chunk]
    hashes: dict[int, str]
    units: dict[int, UnitVectors]
    next_id: int
    embedded: list[Chunk]


def _passages(
    old: IndexVersion | None,
    replaced: list[str],
    removed: list[str],
    new_chunks: dict[str, list[Chunk]],
    embedder: Embedder,
    batch_size: int,
    progress: ProgressFactory | None,
) -> _Passages:
    """The old version's passages less the replaced and removed documents', plus the new chunks:
    a new chunk whose text the old version had keeps its vectors, the others are embedded."""
    reuse = _reusable(old, replaced)  # read before _start_from drops the old vectors
    vectors, chunks, hashes, next_id = _start_from(old, replaced + removed, embedder)
    units = _kept_units(old, chunks)
    pending: list[tuple[int, Chunk, str]] = []
    for doc_chunks in new_chunks.values():
        for chunk in doc_chunks:
            fid, next_id = next_id, next_id + 1
            chunks[fid], hashes[fid] = chunk, text_hash(chunk)
            pending.append((fid, chunk, hashes[fid]))
    to_embed = [(fid, c) for fid, c, h in pending if h not in reuse]
    embedded, embedded_units = _embed(embedder, [c for _, c in to_embed], batch_size, progress)
    if pending:
        rows = {fid: i for i, (fid, _) in enumerate(to_embed)}
        matrix = np.vstack(
            [embedded[rows[fid]] if fid in rows else reuse[h][0] for fid, _, h in pending]
        ).astype(np.float32)
        vectors.add_with_ids(matrix, np.array([fid for fid, _, _ in pending], dtype=np.int64))
        for fid, _, h in pending:
            units[fid] = embedded_units[rows[fid]] if fid in rows else reuse[h][1]
    return _Passages(
        vectors=vectors,
        chunks=chunks,
        hashes=hashes,
        units=units,
        next_id=next_id,
        embedded=[c for _, c in to_embed],
    )


def _previous(
    index_dir: Path, embedder: Embedder, chunking: dict[str, int], *, full: bool
) -> tuple[IndexVersion | None, str]:
    """The live version to build on, or None and why the build starts from nothing."""
    if full:
        return None, "--full requested"
    folder = current_version_dir(index_dir)
    if folder is None:
        return None, "no previous index"
    try:
        old = load_version(folder)
        check_compatible(old.manifest, model=embedder.model_id, chunking=chunking)
    except IndexError_ as exc:
        # The advice to run a build is moot here: this is that build.
        reason = str(exc).split("; run `espoo-assistant build", 1)[0].rstrip(".")
        log.warning("Rebuilding the whole index: %s", reason)
        return None, reason
    return old, ""


def _start_from(
    old: IndexVersion | None, drop_docs: list[str], embedder: Embedder
) -> tuple[Any, dict[int, Chunk], dict[int, str], int]:
    if old is None:
        return new_vector_index(embedder.dimension), {}, {}, 0
    drop = set(drop_docs)
    gone = [fid for fid, c in old.chunks.items() if c.document in drop]
    if gone:
        old.vectors.remove_ids(np.array(gone, dtype=np.int64))
    chunks = {fid: c for fid, c in old.chunks.items() if c.document not in drop}
    hashes = {fid: old.text_hashes[fid] for fid in chunks}
    return old.vectors, chunks, hashes, old.manifest.next_id


def _reusable(
    old: IndexVersion | None, docs: list[str]
) -> dict[str, tuple[np.ndarray, UnitVectors]]:
    """Vectors of the replaced documents' passages (and their sentences), by text hash; read
    before ``_start_from`` drops them from the old vectors."""
    if old is None or not docs:
        return {}
    wanted = set(docs)
    pairs = [(fid, old.text_hashes[fid]) for fid, c in old.chunks.items() if c.document in wanted]
    vectors = old.vectors_of(fid for fid, _ in pairs)
    return {h: (vec, old.sentences.of(fid)) for (fid, h), vec in zip(pairs, vectors, strict=True)}


def _kept_units(old: IndexVersion | None, chunks: dict[int, Chunk]) -> dict[int, UnitVectors]:
    """The sentence vectors of the passages carried over unchanged from the old version."""
    return {fid: old.sentences.of(fid) for fid in chunks} if old is not None else {}


def _embed(
    embedder: Embedder, chunks: list[Chunk], batch_size: int, progress: ProgressFactory | None
) -> tuple[np.ndarray, list[UnitVectors]]:
    """Passage vectors and, from the same model pass, the vectors of each passage's sentences."""
    if not chunks:  # nothing new to embed: don't even load the model
        return np.zeros((0, 0), dtype=np.float32), []
    texts = [c.embedding_text() for c in chunks]
    offsets = [
        np.array(
            [(u.start, u.end) for u in answer_units(c.text, c.language)], dtype=np.int64
        ).reshape(-1, 2)
        for c in chunks
    ]
    # Unit offsets are in the chunk's text; the model sees it after the title and section.
    spans = [
        [(int(a) + len(t) - len(c.text), int(b) + len(t) - len(c.text)) for a, b in units]
        for t, c, units in zip(texts, chunks, offsets, strict=True)
    ]
    with progress_of(progress, len(chunks), "chunk") as update:
        vectors, pooled = embed_with_spans(
            embedder,
            texts,
            spans,
            batch_size=batch_size,
            progress=update,
            role="passage",
            alone_progress=lambda total: progress_of(progress, total, "sentence"),
        )
    return vectors, [(u, p.astype(np.float16)) for u, p in zip(offsets, pooled, strict=True)]


def _word_vectors(
    embedder: Embedder,
    chunks: dict[int, Chunk],
    dimension: int,
    old: IndexVersion | None,
    batch_size: int,
    progress: ProgressFactory | None = None,
) -> WordVectors:
    """The vectors of the corpus's words; the old version's are reused, new words encoded.

    Words are compared with a question's words, so they are read in the "query" role too."""

    def encode(words: list[str]) -> np.ndarray:
        with progress_of(progress, len(words), "word") as update:
            return embedder.encode(
                words, batch_size=max(batch_size, 128), progress=update, role="query"
            )

    texts = (f"{c.title} {c.section} {c.text}" for c in chunks.values())
    return WordVectors.build(texts, encode, dimension, old.words if old else None)


def _write(
    index_dir: Path,
    manifest: Manifest,
    passages: _Passages,
    sentences: SentenceVectors,
    words: WordVectors,
    *,
    previous: str = "",
) -> None:
    """Write the version beside the live one, then publish it with one rename."""
    tmp = index_dir / f".build-{manifest.version}"
    try:
        save_version(
            tmp, manifest, passages.vectors, passages.chunks, passages.hashes, sentences, words
        )
        final = index_dir / manifest.version
        os.replace(tmp, final)
        publish(index_dir, final)
    except (OSError, sqlite3.Error, RuntimeError) as exc:  # faiss reports I/O as RuntimeError
        shutil.rmtree(tmp, ignore_errors=True)
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
        raise IndexError_(
            f"Could not write the index to {index_dir} ({reason}); free disk space "
            "or fix the folder's permissions. The previous index is unchanged and still in use."
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep={final.name, previous})


def _prune(index_dir: Path, keep: set[str]) -> None:
    """Remove every version but the live one and the one it replaced (or orphans of a crash)."""
    for folder in index_dir.glob("v-*"):
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _remove_stale_builds(index_dir: Path) -> None:
    for stale in index_dir.glob(".build-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _version_name() -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"v-{now}-{secrets.token_hex(3)}"


def _report(
    *,
    unchanged: list[str],
    skipped: list[Skipped],
    started: float,
    reason: str,
    kept: IndexVersion | None = None,
    manifest: Manifest | None = None,
    passages: _Passages | None = None,
    added: Sequence[str] = (),
    changed: Sequence[str] = (),
    removed: Sequence[str] = (),
) -> BuildReport:
    """What a build did: ``kept`` is the live version when there was nothing to do, else
    ``manifest`` and ``passages`` are the new version's."""
    embedded = passages.embedded if passages else []
    version = manifest.version if manifest else (kept.name if kept else "")
    return BuildReport(
        documents=len(manifest.documents)
        if manifest
        else len(kept.manifest.documents)
        if kept
        else 0,
        added=len(added),
        changed=len(changed),
        removed=len(removed),
        unchanged=len(unchanged),
        skipped=skipped,
        chunks=len(passages.chunks) if passages else (len(kept) if kept else 0),
        chunks_embedded=len(embedded),
        seconds=time.perf_counter() - started,
        version=version,
        full=kept is None and bool(reason),
        reason=reason,
        embedded_documents=sorted({c.document for c in embedded}),
    )
