"""What the index holds, and what changed in the documents folder since it was built."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..errors import DocumentsError
from ..ingest.documents import scan_folder
from .store import current_version_dir, read_manifest


def index_status(settings: Settings) -> dict[str, Any]:
    """A JSON-ready summary for ``status`` and the health route."""
    folder = current_version_dir(settings.index)
    data: dict[str, Any] = {"index": str(settings.index), "built": folder is not None}
    manifest = read_manifest(folder) if folder is not None else None
    indexed = manifest.documents if manifest else {}
    try:
        scan = scan_folder(settings.documents)
        hashes, scan_skipped = scan.hashes, [s.__dict__ for s in scan.skipped]
    except DocumentsError:
        hashes, scan_skipped = {}, []
    data["changed_since"] = {
        "added": sorted(d for d in hashes if d not in indexed),
        "changed": sorted(d for d in hashes if d in indexed and indexed[d]["hash"] != hashes[d]),
        "removed": sorted(d for d in indexed if d not in hashes),
    }
    if manifest is None:
        data["skipped"] = scan_skipped
        return data
    data.update(
        index_version=manifest.version,
        documents=len(manifest.documents),
        chunks=manifest.chunk_count,
        model=manifest.model,
        last_build=manifest.built_at,
        chunking=manifest.chunking,
        skipped=manifest.skipped,
        compatible=manifest.model == settings.model
        and manifest.chunking == {"size": settings.chunk_size, "overlap": settings.chunk_overlap},
    )
    return data
