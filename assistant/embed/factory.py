"""Choosing an embedder from settings; the only module that names the backends."""

from __future__ import annotations

from pathlib import Path

from ..config import DEFAULT_MODEL, Settings
from .base import Embedder


def create_embedder(
    model: str = DEFAULT_MODEL, backend: str = "torch", *, cache_dir: Path | None = None
) -> Embedder:
    """The embedder for a model name/path and backend setting.

    ``cache_dir`` is where the ONNX backends keep their export (the factory passes
    ``<index folder>/onnx``); without it, ``~/.cache/espoo-assistant/onnx``.
    """
    if backend == "torch":
        from .sbert import SentenceTransformerEmbedder  # imports torch only when chosen

        return SentenceTransformerEmbedder(model)
    from .onnxrt import OnnxEmbedder

    return OnnxEmbedder(model, quantized=backend == "onnx-int8", cache_dir=cache_dir)


def embedder_for(settings: Settings) -> Embedder:
    """The embedder the settings ask for (ONNX exports are cached in ``<index>/onnx``)."""
    cache = Path(settings.onnx_cache) if settings.onnx_cache else settings.index / "onnx"
    return create_embedder(settings.model, settings.backend, cache_dir=cache)
