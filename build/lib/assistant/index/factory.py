"""Building and loading the index with the folders, model and chunking of the settings."""

from __future__ import annotations

from ..config import Settings
from ..embed.base import Embedder
from ..embed.factory import embedder_for
from .build import BuildReport, build_index
from .progress import ProgressFactory
from .store import IndexVersion, load_index


def build_from_settings(
    settings: Settings,
    *,
    full: bool = False,
    embedder: Embedder | None = None,
    progress: ProgressFactory | None = None,
) -> BuildReport:
    """``build_index`` with the folders and chunking of ``settings``."""
    return build_index(
        documents_dir=settings.documents,
        index_dir=settings.index,
        embedder=embedder or embedder_for(settings),
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        batch_size=settings.batch_size,
        full=full,
        progress=progress,
    )


def chunking_of(settings: Settings) -> dict[str, int]:
    """The chunking settings an index version records (a change rebuilds it)."""
    return {"size": settings.chunk_size, "overlap": settings.chunk_overlap}


def load_live_index(settings: Settings) -> IndexVersion:
    """The live index version, refused when built with other settings."""
    return load_index(settings.index, model=settings.model, chunking=chunking_of(settings))
