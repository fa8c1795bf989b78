"""ONNX files for the ONNX backend: a transformer exported with torch, int8 quantisation, and
``PreparedModel``, the description of what the backend runs (graph, tokenizer, pooling, prompts).

Exporting needs torch and transformers (once, on first use); running the files needs only
``onnxruntime`` and ``tokenizers``. Every file is written under a temporary name and renamed, so a
crash never leaves half a file where a later process would take it for a finished export.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EmbeddingError

#: The description of a prepared folder (see ``PreparedModel``).
PREPARED_FILE = "embedder.json"
#: The transformer inputs a graph may take, in the order the backend feeds them.
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Weight files of a transformers folder, in order of preference.
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def install_hint(exc: ImportError) -> EmbeddingError:
    """The error for a missing dependency of the ONNX backend, with the command that fixes it."""
    return EmbeddingError(
        f"The ONNX backend needs {exc.name or 'onnxruntime'}; run `make install` "
        "(or `pip install -e .`) or set ASSISTANT_BACKEND=torch."
    )


def temporary(target: Path) -> Path:
    """A name beside ``target`` for writing it before the rename (unique to this process)."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


@dataclass(frozen=True)
class PreparedModel:
    """What the ONNX backend runs: a graph, its ``tokenizers`` file, and how to use them.

    ``prefixes`` maps a role ("query", "passage") to the text put before a text of that role;
    ``pooling`` is "mean" (over the attention mask) or "cls"; longer inputs are truncated to
    ``max_length`` tokens. ``exported`` is True when the call that returned it wrote the files.
    """

    onnx: Path
    tokenizer: Path
    pooling: str = "mean"
    max_length: int = 512
    prefixes: dict[str, str] = field(default_factory=dict)
    exported: bool = False

    def save(self, folder: Path, **about: Any) -> None:
        """Write ``embedder.json`` into ``folder``, which holds the graph and the tokenizer."""
        description = {
            "onnx": self.onnx.name,
            "tokenizer": self.tokenizer.name,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "prefixes": self.prefixes,
            **about,
        }
        target = folder / PREPARED_FILE
        tmp = temporary(target)
        tmp.write_text(json.dumps(description, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)

    @classmethod
    def load(cls, folder: Path, *, exported: bool = False) -> PreparedModel:
        """The model a prepared ``folder`` describes (its ``embedder.json``)."""
        try:
            description = json.loads((folder / PREPARED_FILE).read_text(encoding="utf-8"))
            prepared = cls(
                onnx=folder / description["onnx"],
                tokenizer=folder / description["tokenizer"],
                pooling=str(description.get("pooling", "mean")),
                max_length=int(description.get("max_length", 512)),
                prefixes={str(k): str(v) for k, v in description.get("prefixes", {}).items()},
                exported=exported,
            )
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise EmbeddingError(
                f"{folder / PREPARED_FILE} is unreadable ({exc}); delete {folder} to prepare "
                "the model again."
            ) from exc
        if prepared.pooling not in ("mean", "cls"):
            raise EmbeddingError(f"{folder}: unknown pooling {prepared.pooling!r}.")
        return prepared


def load_transformer(model_path: Path) -> Any:
    """The folder's transformer, built from its ``config.json`` and weight file alone.

    No hub loader is involved, so a folder missing these files is an error, never a download.
    """
    try:
        import torch
    except ImportError as exc:
        raise install_hint(exc) from exc
    config_file = model_path / "config.json"
    weights = next((model_path / n for n in _WEIGHTS if (model_path / n).is_file()), None)
    if not config_file.is_file() or weights is None:
        raise EmbeddingError(
            f"{model_path} lacks config.json or model weights ({' / '.join(_WEIGHTS)}); "
            "set ASSISTANT_MODEL to a complete sentence-transformers folder."
        )
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    return build_transformer(json.loads(config_file.read_text()), state, f"{weights}")


def build_transformer(settings: dict[str, Any], state: dict[str, Any], source: str) -> Any:
    """A transformers model (eager attention) from its config settings (with ``model_type``)
    and a state dict of torch tensors; ``source`` names the weights in an error."""
    try:
        from transformers import AutoConfig, AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise install_hint(exc) from exc
    hf_logging.set_verbosity_error()
    settings = dict(settings)
    config = AutoConfig.for_model(settings.pop("model_type"), **settings)
    model = AutoModel.from_config(config, attn_implementation="eager")
    prefix = f"{model.base_model_prefix}."
    state = {key.removeprefix(prefix): value for key, value in state.items()}
    missing, _ = model.load_state_dict(state, strict=False)
    # The pooler is not used (sentence vectors pool the last hidden state).
    missing = [k for k in missing if not k.startswith("pooler.") and "position_ids" not in k]
    if missing:
        raise EmbeddingError(f"{source} does not fit its model's config: missing {missing[:3]}.")
    return model.eval()


def export_onnx(model: Any, target: Path) -> None:
    """Export a transformers model (eager attention) to ``target``, atomically.

    The graph takes the ``INPUTS`` its ``forward`` accepts (int64, batch x sequence) and returns
    ``last_hidden_state``; pooling is left to the caller.
    """
    try:
        import torch
    except ImportError as exc:
        raise install_hint(exc) from exc
    names = [n for n in INPUTS if n in inspect.signature(model.forward).parameters]

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
    tmp = temporary(target)
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
        raise install_hint(exc) from exc
    tmp = temporary(target)
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
