"""ONNX Runtime backend: the same sentence-transformers model, exported locally, run without torch.

On first use the model is exported with ``torch.onnx.export`` (eager attention, which ORT runs
faster than SDPA) into ``<cache_dir>/<model-hash>/model.onnx``, and, for ``quantized=True``, also
quantised to int8 (dynamic, per-channel, MatMul only) as ``model-int8.onnx``. Later processes reuse
the files. At run time only ``onnxruntime`` and ``tokenizers`` are needed: texts are tokenised once,
sorted by token count, padded per batch, and the model's own pooling (mean or CLS, read from its
``1_Pooling/config.json``) and L2 normalisation are applied in numpy.

``onnxruntime``, ``tokenizers`` and ``onnx`` are core dependencies: ``onnx`` is the default.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DEFAULT_MODEL
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
    pool_spans,
    resolve_model_path,
)

log = logging.getLogger(__name__)

#: Bumped when the export changes, so old cached files are not reused.
EXPORT_VERSION = 1
#: Where exports are cached when no folder is given (the index folder is the better place).
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "espoo-assistant" / "onnx"
ONNX_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Calls of at most SMALL_CALL texts (questions) run on a one-thread session: on a busy 2-core
# server a thread pool's spinning costs more than it gains for one short text, and concurrent
# requests still use both cores. Bulk encoding gets a session with ORT's default pool.


def _install_hint(exc: ImportError) -> EmbeddingError:
    return EmbeddingError(
        f"The ONNX backend needs {exc.name or 'onnxruntime'}; run `make install` "
        "(or `pip install -e .`) or set ASSISTANT_BACKEND=torch."
    )


#: Weight files of a transformers folder, in order of preference.
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def model_hash(model_path: Path) -> str:
    """A key for a model folder: its files' names, sizes and mtimes, and the export version."""
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for path in sorted(p for p in model_path.rglob("*") if p.is_file()):
        stat = path.stat()
        rel = path.relative_to(model_path).as_posix()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def load_transformer(model_path: Path) -> Any:
    """The folder's transformer, built from its ``config.json`` and weight file alone.

    No hub loader is involved, so a folder missing these files is an error, never a download.
    """
    try:
        import torch
        from transformers import AutoConfig, AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise _install_hint(exc) from exc
    hf_logging.set_verbosity_error()
    config_file = model_path / "config.json"
    weights = next((model_path / n for n in _WEIGHTS if (model_path / n).is_file()), None)
    if not config_file.is_file() or weights is None:
        raise EmbeddingError(
            f"{model_path} lacks config.json or model weights ({' / '.join(_WEIGHTS)}); "
            "set ASSISTANT_MODEL to a complete sentence-transformers folder."
        )
    settings = json.loads(config_file.read_text())
    config = AutoConfig.for_model(settings.pop("model_type"), **settings)
    model = AutoModel.from_config(config, attn_implementation="eager")
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    prefix = f"{model.base_model_prefix}."
    state = {key.removeprefix(prefix): value for key, value in state.items()}
    missing, _ = model.load_state_dict(state, strict=False)
    # The pooler is not used (sentence vectors pool the last hidden state).
    missing = [k for k in missing if not k.startswith("pooler.") and "position_ids" not in k]
    if missing:
        raise EmbeddingError(f"{weights} does not fit {config_file}: missing {missing[:3]}.")
    return model.eval()


def export_onnx(model_path: Path, target: Path) -> None:
    """Export the transformer of a sentence-transformers folder to ``target`` (atomically)."""
    try:
        import torch
    except ImportError as exc:
        raise _install_hint(exc) from exc
    model = load_transformer(model_path)

    names = [n for n in _INPUTS if n in inspect.signature(model.forward).parameters]

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    # Trace with padding in the mask, so no "mask is all ones" shortcut is baked into the graph.
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 3231, 102, 0, 0, 0]])
    example = {
        "input_ids": ids,
        "attention_mask": (ids != 0).long(),
        "token_type_ids": torch.zeros_like(ids),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    dynamic = {name: {0: "batch", 1: "sequence"} for name in (*names, "last_hidden_state")}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on constants and deprecation
            torch.onnx.export(
                LastHidden(model),
                tuple(example[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights, per output channel (atomically)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise _install_hint(exc) from exc
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    quiet = logging.Filter("onnxruntime")  # it logs a pre-processing tip to the root logger
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(source),
            str(tmp),
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
        )
        os.replace(tmp, target)
    finally:
        logging.getLogger().removeFilter(quiet)
        tmp.unlink(missing_ok=True)


class OnnxEmbedder(SpanEmbedder):
    """The Embedder protocol on ONNX Runtime; exports and loads lazily, once per instance."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        quantized: bool = False,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.model_id = model
        self.quantized = quantized
        self.cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
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
            raise _install_hint(exc) from exc
        folder = Path(resolve_model_path(self.model_id))
        if not folder.is_dir():
            raise missing_model_error(self.model_id)
        if not (folder / "tokenizer.json").is_file():
            raise EmbeddingError(
                f"Cannot use the ONNX backend with {self.model_id!r}: it needs a local "
                "sentence-transformers folder with tokenizer.json; set ASSISTANT_BACKEND=torch."
            )
        self._read_modules(folder)
        self.onnx_path = self._ensure_file(folder)
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()  # padded per batch below, after sorting by length
        tokenizer.enable_truncation(max_length=self._max_length(folder))
        self._tokenizer = tokenizer
        self._prepared = True

    def _ensure_file(self, folder: Path) -> Path:
        where = self.cache_dir / model_hash(folder)
        fp32 = where / ONNX_FILE
        try:
            if not fp32.is_file():
                log.warning("Exporting the model to ONNX in %s (first use only, ~15 s)...", where)
                export_onnx(folder, fp32)
                self.exported = True
            if not self.quantized:
                return fp32
            int8 = where / INT8_FILE
            if not int8.is_file():
                quantize_int8(fp32, int8)
                self.exported = True
            return int8
        except OSError as exc:
            raise EmbeddingError(
                f"Cannot write the ONNX export to {where} ({exc.strerror or exc}); "
                "fix the folder's permissions or set ASSISTANT_BACKEND=torch."
            ) from exc

    def _read_modules(self, folder: Path) -> None:
        modules_file = folder / "modules.json"
        modules = json.loads(modules_file.read_text()) if modules_file.is_file() else []
        kinds = {m.get("type", "").rsplit(".", 1)[-1]: m for m in modules}
        pooling = kinds.get("Pooling")
        config: dict[str, Any] = {}
        if pooling is not None:
            config_file = folder / pooling.get("path", "") / "config.json"
            config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        if config.get("pooling_mode_cls_token"):
            self._pooling = "cls"
        elif config.get("pooling_mode_mean_tokens", True):
            self._pooling = "mean"
        else:
            raise EmbeddingError(
                f"The ONNX backend supports mean and CLS pooling only; {self.model_id!r} uses "
                f"another one ({config}); set ASSISTANT_BACKEND=torch."
            )
        extra = set(kinds) - {"Transformer", "Pooling", "Normalize"}
        if extra:
            raise EmbeddingError(
                f"The ONNX backend cannot run {self.model_id!r}'s modules {sorted(extra)}; "
                "set ASSISTANT_BACKEND=torch."
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

    def _pass(self, texts: Texts, spans: Spans, batch_size: int, progress: Progress | None) -> Pass:
        """Texts are tokenised once; batches are then grouped by token count."""
        session = self._load(len(texts))
        stripped = [str(t).strip() for t in texts]
        shifts = [len(str(t)) - len(str(t).lstrip()) for t in texts]
        encodings = self._tokenizer.encode_batch(stripped)
        pooled: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(texts)

        def encode_rows(rows: list[int]) -> np.ndarray:
            feeds = self._feeds([encodings[i] for i in rows])
            hidden = session.run(None, feeds)[0]
            for row, i in enumerate(rows):
                n = len(encodings[i].ids)
                local = [(a - shifts[i], b - shifts[i]) for a, b in spans[i]]
                pooled[i] = pool_spans(hidden[row, :n], encodings[i].offsets, local)
            return self._pool(hidden, feeds["attention_mask"])

        sizes = [len(e.ids) for e in encodings]
        vectors = encode_sorted(sizes, encode_rows, self._dimension, batch_size, progress)
        return vectors, pooled

    def _feeds(self, encodings: list[Any]) -> dict[str, np.ndarray]:
        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _INPUTS}
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
