"""What a build reads: the documents folder (``scan_documents``) and the new and changed
documents, loaded and chunked (``load_changed``).

``build`` compares the scan's content hashes with the live version's manifest and decides what
to (re)index; these functions only read and chunk, they change nothing on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DocumentsError
from ..ingest.chunking import Chunk, chunk_document
from ..ingest.documents import Scan, Skipped, iter_loaded, scan_folder


def scan_documents(documents_dir: Path) -> Scan:
    """The documents folder's files and their hashes; finding none is an error that says why."""
    scan = scan_folder(documents_dir)
    if not scan.files:
        raise DocumentsError(
            f"No documents to index in {documents_dir}: add .md, .txt, .html or .pdf files there."
            + (f" ({len(scan.skipped)} files were skipped.)" if scan.skipped else "")
        )
    return scan


@dataclass
class Changes:
    """The new and changed documents' chunks and manifest entries, and those that failed."""

    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


def load_changed(
    scan: Scan, todo: dict[str, Path], skipped: list[Skipped], *, size: int, overlap: int
) -> Changes:
    """Load and chunk the documents of ``todo``; those that cannot be are added to ``skipped``."""
    changes = Changes()
    for doc_id, path in todo.items():
        loaded = list(iter_loaded(scan, {doc_id: path}, skipped))
        if not loaded:
            changes.failed.add(doc_id)
            continue
        doc = loaded[0]
        chunks = chunk_document(doc, size=size, overlap=overlap)
        if not chunks:
            skipped.append(Skipped(doc_id, "no indexable text (only headings or references)"))
            changes.failed.add(doc_id)
            continue
        changes.chunks[doc_id] = chunks
        changes.entries[doc_id] = {
            "hash": scan.hashes[doc_id],
            "chunks": len(chunks),
            "title": doc.title,
            "date": doc.date,
            "source": doc.source,
            "topics": list(doc.topics),
            "language": doc.language,
        }
    return changes
