"""Training the answerability model (``espoo-assistant train-scorer``, after the sentence ranker).

Every question of the project's question files is run through retrieval and evidence scoring
once (``sentences.collect``); its sentences are ordered by the trained ranker, and its
``answerability.QUESTION_FEATURES`` and its label (answerable or out of scope) make one
example. Questions the hard rules settle (empty, live information, attempts to change the
instructions) are left out. A logistic regression (scikit-learn, deterministic) is fitted on
standardised features; the threshold is the
probability below which the stated share of the training set's answerable questions falls (the
false-refusal rate it is picked for), one for each language's questions (and one for all, for a
language without enough of them).

Validation is grouped by file: each file in turn is held out, the ranker, the model and its
threshold are fitted on the others, and the held-out file's refusal accuracy and false-refusal
rate are reported. Files named in ``NEVER_TRAINED`` are never read here: they judge the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..answer.answerability import (
    QUESTION_FEATURES,
    READER_FEATURES,
    READER_KIND,
    Answerability,
    question_features,
)
from ..answer.assistant import Assistant
from ..answer.ranking import SentenceRanker
from ..answer.reader import Reader
from ..answer.weights import weights_path
from .sentences import Scored, collect, cross_validate_ranker, fit_ranker

#: Question files that judge the model and are never trained on (their stems).
NEVER_TRAINED = (
    *(f"blind{n}-{part}" for n in range(41, 107) if n != 42 for part in ("en", "fisv")),
    "blind42-how",
    "procedure",
    "practical-en",
    "practical-fisv",
    *(f"casual{n}-{part}" for n in (1, 2) for part in ("en", "fisv")),
)
#: Blind question files the answerability model is also fitted on: their out-of-scope questions
#: are the near misses the project's own files lack ("the West Metro extension's total cost").
#: The sentence ranker and the refusal thresholds use the project's own files only, whose many
#: casual, misspelt questions keep the false-refusal rate honest for the residents who type so.
ANSWERABILITY_ONLY = tuple(
    f"blind{n}-{part}" for n in ("", *range(2, 41)) for part in ("en", "fisv")
)
#: Question files only the reader is trained on (``train-reader``): written for it, with answers
#: that are not a figure (names, places, yes or no, how often, contacts, trends, how to) and near
#: misses about what the documents discuss, which the other files have few of (row 184).
READER_ONLY = tuple(f"reader{n}-{part}" for n in (1, 2) for part in ("en", "fisv"))
#: The false-refusal rate the threshold is picked for, by default.
DEFAULT_FALSE_REFUSAL = 0.05
#: Inverse regularisation strength of the logistic regression.
REGULARISATION = 1.0
#: The best sentences the reader reads for the model that weighs it (its feature is the highest
#: of their logits; written into the model as ``sentences_read``). Two, since a question whose
#: answer ranks second was refused when only the best one was read (row 182).
READ = 2


@dataclass(frozen=True)
class Example:
    """One question: its file, label and features."""

    file: str
    answerable: bool
    features: np.ndarray
    #: Refused by the place rule (another city), whatever the model says.
    elsewhere: bool
    #: The question's language ("en", "fi", "sv").
    language: str = "en"


def training_files(folder: Path) -> list[Path]:
    """The question files of ``folder`` that the ranker and the thresholds are trained on."""
    left_out = {*NEVER_TRAINED, *ANSWERABILITY_ONLY, *READER_ONLY}
    return [p for p in sorted(folder.glob("*.jsonl")) if p.stem not in left_out]


def answerability_files(folder: Path) -> list[Path]:
    """The ``ANSWERABILITY_ONLY`` question files of ``folder``."""
    return [p for p in sorted(folder.glob("*.jsonl")) if p.stem in ANSWERABILITY_ONLY]


def reader_files(folder: Path) -> list[Path]:
    """The question files of ``folder`` the reader is trained on: the answerability model's and
    the ``READER_ONLY`` ones."""
    only = [p for p in sorted(folder.glob("*.jsonl")) if p.stem in READER_ONLY]
    return [*training_files(folder), *answerability_files(folder), *only]


class ReaderMemo:
    """The reader's logits of (question, sentence) pairs, each read once: the cross-validated
    rankers put mostly the same sentences on top."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._seen: dict[tuple[str, str], float] = {}

    def logit(self, question: str, sentences: Sequence[str]) -> float:
        """The reader's highest logit that one of ``sentences`` answers ``question``."""
        for sentence in sentences:
            if (question, sentence) not in self._seen:
                logit = float(self.reader.logits(question, [sentence])[0])
                self._seen[question, sentence] = logit
        return max(self._seen[question, sentence] for sentence in sentences)


def examples_of(
    questions: Sequence[Scored], ranker: SentenceRanker, reader: ReaderMemo | None = None
) -> list[Example]:
    """An answerability example per question, its sentences ordered by ``ranker`` (the ``READ``
    best read by ``reader``, when given: ``READER_FEATURES``)."""
    out = []
    for q in questions:
        scores = ranker.scores(q.table)
        order = np.argsort(-scores, kind="stable")
        x = question_features(q.table[order], scores[order], q.language)
        if reader is not None:
            x = np.append(x, reader.logit(q.question, [q.texts[i] for i in order[:READ]]))
        out.append(
            Example(
                file=q.file,
                answerable=q.answerable,
                features=x,
                elsewhere=q.elsewhere,
                language=q.language,
            )
        )
    return out


def fit(
    examples: Sequence[Example],
    model: str,
    *,
    false_refusal: float = DEFAULT_FALSE_REFUSAL,
    trained_on: Sequence[str] = (),
    extra: Sequence[Example] = (),
) -> Answerability:
    """The answerability model of ``examples`` and ``extra`` with its threshold for
    ``false_refusal``, picked on the answerable questions of ``examples`` only."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([e.features for e in [*examples, *extra]])
    y = np.array([e.answerable for e in [*examples, *extra]])
    if y.all() or not y.any():
        raise ValueError("training needs both answerable and out-of-scope questions")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    regression = LogisticRegression(C=REGULARISATION, max_iter=5000)
    regression.fit((x - mean) / scale, y)
    trained = Answerability(
        model=model,
        features=READER_FEATURES if x.shape[1] == len(READER_FEATURES) else QUESTION_FEATURES,
        mean=tuple(round(float(v), 10) for v in mean),
        scale=tuple(round(float(v), 10) for v in scale),
        coef=tuple(round(float(v), 10) for v in regression.coef_[0]),
        intercept=round(float(regression.intercept_[0]), 10),
        threshold=0.0,
        false_refusal_target=false_refusal,
        trained_on=tuple(trained_on),
        sentences_read=READ if x.shape[1] == len(READER_FEATURES) else 1,
    )
    answerable: dict[str, list[float]] = {}
    for e in examples:
        if e.answerable:
            answerable.setdefault(e.language, []).append(trained.probability(e.features))
    thresholds = {
        language: round(float(np.quantile(probabilities, false_refusal)), 6)
        for language, probabilities in sorted(answerable.items())
        if len(probabilities) * false_refusal >= 1  # enough for the quantile to mean the rate
    }
    everyone = [p for probabilities in answerable.values() for p in probabilities]
    threshold = round(float(np.quantile(everyone, false_refusal)), 6)
    return replace(trained, threshold=threshold, thresholds=thresholds)


def cross_validate(
    examples: Sequence[Example],
    model: str,
    *,
    false_refusal: float = DEFAULT_FALSE_REFUSAL,
    without: Callable[[str], tuple[Sequence[Example], Sequence[Example]]] | None = None,
    extra: Sequence[Example] = (),
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Per held-out file, the refusals; and every example's held-out probability (for the
    reliability plot). ``without(file)`` gives the examples and the ``extra`` ones as a sentence
    ranker trained without that file orders them (those in the order of ``examples``), so the
    held-out file is unseen by both models."""
    files = sorted({e.file for e in examples})
    rows: list[dict[str, Any]] = []
    held_out = np.zeros(len(examples))
    for name in files:
        if without is not None:
            examples, extra = without(name)
        train = [e for e in examples if e.file != name]
        trained = fit(train, model, false_refusal=false_refusal, extra=extra)
        c = [0, 0, 0, 0]  # answerable, wrongly refused, out of scope, rightly refused
        for i, e in enumerate(examples):
            if e.file != name:
                continue
            held_out[i] = p = trained.probability(e.features)
            refused = p < trained.threshold_for(e.language) or e.elsewhere
            if e.answerable:
                c[0], c[1] = c[0] + 1, c[1] + refused
            else:
                c[2], c[3] = c[2] + 1, c[3] + refused
        rows.append({"file": name, "learned": _rates(c)})
    total = [sum(r["learned"]["counts"][k] for r in rows) for k in range(4)]
    rows.append({"file": "all", "learned": _rates(total)})
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
    extra: Sequence[Path] = (),
    reader: bool = False,
) -> dict[str, Any]:
    """Validate by file, fit the sentence ranker and then the answerability model (on the
    ranker's scores) on every file (the answerability model on the ``extra`` files too), write
    both weights files (to the folder ``out``, else the package's) and the reliability plot;
    the report."""
    from ..answer.weights import SCORERS

    model = assistant.settings.model
    names = [p.name for p in files]
    questions = collect(assistant, files)
    near_misses = collect(assistant, extra) if extra else []
    ranking_rows = cross_validate_ranker(questions, model)
    ranker = fit_ranker(questions, model, trained_on=names)
    memo = ReaderMemo(assistant.reader) if reader else None
    examples = examples_of(questions, ranker, memo)
    extra_examples = examples_of(near_misses, ranker, memo)

    def without(name: str) -> tuple[list[Example], list[Example]]:
        other = fit_ranker([q for q in questions if q.file != name], model)
        return examples_of(questions, other, memo), examples_of(near_misses, other, memo)

    rows, held_out = cross_validate(examples, model, false_refusal=false_refusal, without=without)
    trained = fit(
        examples,
        model,
        false_refusal=false_refusal,
        trained_on=[*names, *(p.name for p in extra)],
        extra=extra_examples,
    )
    folder = out or SCORERS
    folder.mkdir(parents=True, exist_ok=True)
    weights = weights_path(model, folder, READER_KIND if reader else "")
    weights.write_text(trained.to_json(), encoding="utf-8")
    ranker_weights = weights_path(model, folder, "sentences")
    ranker_weights.write_text(ranker.to_json(), encoding="utf-8")
    if plot is not None:
        labels = np.array([e.answerable for e in examples], dtype=float)
        title = f"{model}: {len(examples)} questions, each file held out"
        reliability_plot(held_out, labels, plot, title)
    return {
        "model": model,
        "questions": len(examples),
        "extra_questions": len(extra_examples),
        "answerable": sum(e.answerable for e in examples),
        "false_refusal_target": false_refusal,
        "threshold": trained.threshold,
        "thresholds": trained.thresholds,
        "weights": str(weights),
        "ranker_weights": str(ranker_weights),
        "ranking_cross_validation": ranking_rows,
        "cross_validation": rows,
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    """``train``'s report as text."""
    by_language = ", ".join(f"{k} {v:.3f}" for k, v in report.get("thresholds", {}).items())
    lines = [
        f"{report['model']}: {report['questions']} questions (and "
        f"{report.get('extra_questions', 0)} for answerability only), threshold "
        f"{report['threshold']:.3f} "
        f"({by_language or 'no language has its own'}) for a false-refusal rate of "
        f"{report['false_refusal_target']:.0%}; weights in {report['weights']} and "
        f"{report['ranker_weights']}",
        "Held out one file at a time, best sentence holds the answer (top 1 / top 2):",
    ]
    for row in report["ranking_cross_validation"]:
        learned, semantic = row["learned"], row["semantic"]
        lines.append(
            f"  {row['file']:>12}: learned {learned['top1']} / {learned['top2']}   "
            f"similarity alone {semantic['top1']} / {semantic['top2']}"
        )
    lines.append("Held out one file at a time (refusal accuracy / false-refusal rate):")
    for row in report["cross_validation"]:
        learned = row["learned"]
        lines.append(
            f"  {row['file']:>12}: {learned['refusal_accuracy']} / {learned['false_refusal_rate']}"
        )
    return lines
