"""Assembly: settings -> embedder -> index -> retriever -> Assistant (shared by the CLI and app)."""

from __future__ import annotations

from pathlib import Path

from .answer import Assistant
from .build import BuildReport, build_index
from .config import Settings
from .embeddings import Embedder, create_embedder
from .index import IndexVersion, load_index
from .progress import ProgressFactory
from .retrieval import Retriever


def embedder_for(settings: Settings) -> Embedder:
    """The embedder the settings ask for (ONNX exports are cached in ``<index>/onnx``)."""
    cache = Path(settings.onnx_cache) if settings.onnx_cache else settings.index / "onnx"
    return create_embedder(settings.model, settings.backend, cache_dir=cache)


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
    return {"size": settings.chunk_size, "overlap": settings.chunk_overlap}


def load_live_index(settings: Settings) -> IndexVersion:
    """The live index version, refused when built with other settings."""
    return load_index(settings.index, model=settings.model, chunking=chunking_of(settings))


def create_assistant(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    version: IndexVersion | None = None,
) -> Assistant:
    """An Assistant over the live index, with the language model when one is configured."""
    embedder = embedder or embedder_for(settings)
    version = version or load_live_index(settings)
    generator = None
    if settings.llm_enabled:
        from .generation import OpenAICompatibleGenerator

        generator = OpenAICompatibleGenerator(
            settings.llm_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
        )
    retriever = Retriever(embedder, fusion=settings.fusion)
    return Assistant(settings, version, retriever, generator=generator)
