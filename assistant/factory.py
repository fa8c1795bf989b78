"""Assembly: settings -> embedder -> index -> retriever -> Assistant (shared by the CLI and app)."""

from __future__ import annotations

from .answer import Assistant
from .config import Settings
from .embeddings import Embedder, create_embedder
from .index import IndexVersion, load_index
from .retrieval import Retriever


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
    embedder = embedder or create_embedder(
        settings.model, settings.backend, cache_dir=settings.index / "onnx"
    )
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
