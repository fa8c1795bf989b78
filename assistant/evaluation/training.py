"""Training the answerability model (``espoo-assistant train-refusal``).

Every question of the project's question files is run through retrieval and evidence scoring
once; its ``answerability.QUESTION_FEATURES`` and its label (answerable or out of scope) make one
example. Questions the hard rules settle (empty, live information) are left out. A logistic
regression (scikit-learn, deterministic) is fitted on standardised features; the threshold is the
probability below which the stated share of the training set's answerable questions falls (the
false-refusal rate it is picked for).

Validation is grouped by file: each file in turn is held out, the model and its threshold are
fitted on the others, and the held-out file's refusal accuracy and false-refusal rate are compared
with the rules'. Files named in ``NEVER_TRAINED`` are never read here: they judge the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..answer.answerability import QUESTION_FEATURES, Answerability, question_features
from ..answer.assistant import Assistant, required_evidence
from ..answer.question import read_question
from .questions import load_questions

#: Question files that judge the model and are never trained on (their stems).
NEVER_TRAINED = ("blind-en", "blind-fisv", "blind2-en", "blind2-fisv")
#: The false-refusal rate the threshold is picked for, by default.
DEFAULT_FALSE_REFUSAL = 0.05
#: Inverse regularisation strength of the logistic regression.
REGULARISATION = 1.0


@dataclass(frozen=True)
class Example:
    """One question: its file, label, features and what the rules decided."""

    file: str
    answerable: bool
    features: np.ndarray
    #: Refused by the place rule (another city), whatever the model says.
    elsewhere: bool
    #: Refused by the rules' bar.
    rules_refuse: bool


def training_files(folder: Path) -> list[Path]:
    """The question files of ``folder`` that may be trained on."""
    return [p for p in sorted(folder.glob("*.jsonl")) if p.stem not in NEVER_TRAINED]


def collect(assistant: Assistant, files: Sequence[Path], *, progress: bool = True) -> list[Example]:
    """An example per question of ``files`` that reaches the evidence step."""
    from tqdm import tqdm

    from ..answer.assistant import elsewhere_places

    settings, version = assistant.settings, assistant.version
    jobs = [(path, q) for path in files for q in load_questions(path)]
    examples = []
    for path, q in tqdm(jobs, desc="Questions", unit="q", disable=not progress):
        asked = read_question(
            q.question,
            q.history[-settings.max_history :],
            max_chars=settings.max_question_chars,
            only_in=version.lexical.only_in,
        )
        if not asked.text or asked.live:
            continue  # the hard rules refuse these
        ranked, _ = assistant.evidence(version, asked)
        if not ranked:
            continue
        required = required_evidence(settings.min_evidence, asked.terms)
        examples.append(
            Example(
                file=path.stem,
                answerable=q.answerable,
                features=question_features(ranked, required, asked.language),
                elsewhere=bool(elsewhere_places(asked, ranked)),
                rules_refuse=ranked[0].score < required,
            )
        )
    return examples


def fit(
    examples: Sequence[Example],
    model: str,
    *,
    false_refusal: float = DEFAULT_FALSE_REFUSAL,
    trained_on: Sequence[str] = (),
) -> Answerability:
    """The answerability model of ``examples`` with its threshold for ``false_refusal``."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([e.features for e in examples])
    y = np.array([e.answerable for e in examples])
    if y.all() or not y.any():
        raise ValueError("training needs both answerable and out-of-scope questions")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    regression = LogisticRegression(C=REGULARISATION, max_iter=5000)
    regression.fit((x - mean) / scale, y)
    trained = Answerability(
        model=model,
        features=QUESTION_FEATURES,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in regression.coef_[0]),
        intercept=float(regression.intercept_[0]),
        threshold=0.0,
        false_refusal_target=false_refusal,
        trained_on=tuple(trained_on),
    )
    answerable = [trained.probability(e.features) for e in examples if e.answerable]
    threshold = float(np.quantile(answerable, false_refusal))
    return Answerability(**{**trained.__dict__, "threshold": round(threshold, 6)})


def cross_validate(
    examples: Sequence[Example], model: str, *, false_refusal: float = DEFAULT_FALSE_REFUSAL
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Per held-out file, the learned and the rules' refusals; and every example's held-out
    probability (for the reliability plot)."""
    files = sorted({e.file for e in examples})
    rows: list[dict[str, Any]] = []
    held_out = np.zeros(len(examples))
    for name in files:
        train = [e for e in examples if e.file != name]
        trained = fit(train, model, false_refusal=false_refusal)
        counts = {"learned": [0, 0, 0, 0], "rules": [0, 0, 0, 0]}  # answerable, wrongly refused,
        for i, e in enumerate(examples):  # out of scope, rightly refused
            if e.file != name:
                continue
            held_out[i] = p = trained.probability(e.features)
            for method, refuse in (
                ("learned", p < trained.threshold),
                ("rules", e.rules_refuse),
            ):
                c = counts[method]
                refused = refuse or e.elsewhere
                if e.answerable:
                    c[0], c[1] = c[0] + 1, c[1] + refused
                else:
                    c[2], c[3] = c[2] + 1, c[3] + refused
        rows.append({"file": name, **{m: _rates(c) for m, c in counts.items()}})
    total = {m: _rates([sum(r[m]["counts"][k] for r in rows) for k in range(4)]) for m in counts}
    rows.append({"file": "all", **total})
    return rows, held_out


def _rates(c: list[int]) -> dict[str, Any]:
    return {
        "refusal_accuracy": round(c[3] / c[2], 3) if c[2] else None,
        "false_refusal_rate": round(c[1] / c[0], 3) if c[0] else None,
        "counts": c,
    }


def reliability_plot(probabilities: np.ndarray, labels: np.ndarray, path: Path, title: str) -> None:
    """A reliability (calibration) diagram of held-out probabilities, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(probabilities, edges) - 1, 0, 9)
    predicted, observed, sizes = [], [], []
    for b in range(10):
        inside = which == b
        if inside.any():
            predicted.append(probabilities[inside].mean())
            observed.append(labels[inside].mean())
            sizes.append(int(inside.sum()))
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", color="#0050a0", label="held-out files")
    for px, oy, n in zip(predicted, observed, sizes, strict=True):
        ax.annotate(str(n), (px, oy), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel("predicted probability that the question is answerable")
    ax.set_ylabel("share of questions that are answerable")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def train(
    assistant: Assistant,
    files: Sequence[Path],
    *,
    false_refusal: float = DEFAULT_FALSE_REFUSAL,
    out: Path | None = None,
    plot: Path | None = None,
) -> dict[str, Any]:
    """Validate by file, fit on every file, write the weights (to ``out``, else the package's
    file for the assistant's encoder) and the reliability plot; the report."""
    from ..answer.answerability import weights_path

    model = assistant.settings.model
    examples = collect(assistant, files)
    rows, held_out = cross_validate(examples, model, false_refusal=false_refusal)
    trained = fit(examples, model, false_refusal=false_refusal, trained_on=[p.name for p in files])
    target = out or weights_path(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(trained.to_json(), encoding="utf-8")
    if plot is not None:
        labels = np.array([e.answerable for e in examples], dtype=float)
        title = f"{model}: {len(examples)} questions, each file held out"
        reliability_plot(held_out, labels, plot, title)
    return {
        "model": model,
        "questions": len(examples),
        "answerable": sum(e.answerable for e in examples),
        "false_refusal_target": false_refusal,
        "threshold": trained.threshold,
        "weights": str(target),
        "cross_validation": rows,
    }
