"""Evaluation: answer quality, retrieval hits and refusals on a JSON-lines question file.

Each line: ``{"question", "kind", "answer_any": [...], "history": [...]?}``. ``kind`` is
``answerable`` (or anything starting with it, e.g. ``answerable_followup``) or ``out_of_scope``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..answer.assistant import Assistant
from ..errors import AssistantError
from ..text import SENTENCE_MARKERS, strip_markers
from .matching import states_any


@dataclass(frozen=True)
class Question:
    question: str
    kind: str
    answer_any: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = field(default_factory=tuple)

    @property
    def answerable(self) -> bool:
        return self.kind.startswith("answerable")


def load_questions(path: Path) -> list[Question]:
    """Parse the file; a bad line raises an error that names the line."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                Question(
                    question=str(row["question"]),
                    kind=str(row.get("kind", "answerable")),
                    answer_any=tuple(str(a) for a in row.get("answer_any", [])),
                    history=tuple(row.get("history", [])),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise AssistantError(
                f"{path}, line {number}: expected a JSON object with 'question', 'kind' and "
                f"'answer_any' ({exc})."
            ) from exc
    if not questions:
        raise AssistantError(f"{path} holds no questions.")
    return questions


@dataclass(frozen=True)
class Outcome:
    """What became of one question."""

    answerable: bool
    refused: bool
    #: An answerable question's answer states one of its ``answer_any`` (False otherwise).
    hit: bool = False
    #: ... and its first sentence does.
    leads: bool = False
    #: One of the first ``k`` passages states it.
    retrieved: bool = False
    sentences: int = 0
    characters: int = 0


def evaluate(
    assistant: Assistant,
    questions: list[Question],
    *,
    familiar: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Run every question and compute the metrics (keys as in ``eval --json``). With
    ``familiar`` (one flag per question, ``novelty.familiar``), also the answer and refusal
    metrics of the familiar and of the novel questions apart."""
    latencies, failures, outcomes = [], [], []
    k = assistant.settings.top_k
    for q in questions:
        answer = assistant.ask(q.question, q.history)
        latencies.append(answer.timings.get("total_ms", 0.0))
        version = assistant.version
        passages = [
            version.chunks[version.by_chunk_id[cid]].text
            for cid in answer.passages[:k]
            if cid in version.by_chunk_id
        ]
        if not q.answerable:
            outcomes.append(Outcome(answerable=False, refused=answer.refused))
            if not answer.refused:
                failures.append(_failure(q, answer.text, "answered instead of refusing"))
            continue
        hit = not answer.refused and states_any(answer.text, q.answer_any)
        first = SENTENCE_MARKERS.split(answer.text, maxsplit=1)[0]
        outcome = Outcome(
            answerable=True,
            refused=answer.refused,
            hit=hit,
            leads=hit and states_any(first, q.answer_any),
            retrieved=any(states_any(p, q.answer_any) for p in passages),
            sentences=len(SENTENCE_MARKERS.findall(answer.text)),
            characters=len(strip_markers(answer.text)),
        )
        outcomes.append(outcome)
        if not hit:
            problem = "refused" if answer.refused else "answer lacks " + " / ".join(q.answer_any)
            if not outcome.retrieved:
                problem += " (not retrieved)"
            failures.append(_failure(q, answer.text, problem))
    lat = np.array(latencies) if latencies else np.zeros(1)
    report: dict[str, Any] = {
        "questions": len(questions),
        **_metrics(outcomes),
        "k": k,
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 1),
        "latency_p95_ms": round(float(np.percentile(lat, 95)), 1),
    }
    if familiar is not None:
        for name, wanted in (("familiar", True), ("novel", False)):
            part = [o for o, f in zip(outcomes, familiar, strict=True) if f == wanted]
            report[name] = {"questions": len(part), **_metrics(part)}
    report["failures"] = failures
    return report


def _metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The answer, retrieval and refusal metrics of ``outcomes``."""
    asked = [o for o in outcomes if o.answerable]
    answered = [o for o in asked if not o.refused]
    out_of_scope = [o for o in outcomes if not o.answerable]
    hits = sum(o.hit for o in asked)
    return {
        "answerable": len(asked),
        "out_of_scope": len(out_of_scope),
        "answer_hit": _ratio(hits, len(asked)),
        "answer_leads": _ratio(sum(o.leads for o in asked), hits),
        "retrieval_hit_at_k": _ratio(sum(o.retrieved for o in asked), len(asked)),
        "refusal_accuracy": _ratio(sum(o.refused for o in out_of_scope), len(out_of_scope)),
        "false_refusal_rate": _ratio(sum(o.refused for o in asked), len(asked)),
        "median_sentences": float(np.median([o.sentences for o in answered])) if answered else None,
        "median_characters": (
            float(np.median([o.characters for o in answered])) if answered else None
        ),
    }


#: The metrics ``report_text`` shows, in order.
SHOWN = (
    "questions",
    "answer_hit",
    "answer_leads",
    "retrieval_hit_at_k",
    "refusal_accuracy",
    "false_refusal_rate",
    "median_sentences",
    "median_characters",
    "latency_p50_ms",
    "latency_p95_ms",
)


def report_text(report: dict[str, Any]) -> str:
    """``evaluate``'s report as the text ``eval`` prints: the metrics, the familiar and novel
    questions' (with ``--novelty``), then the failures."""
    none = "n/a (no such questions in the file)"
    lines = [f"{key:>20}: {none if report[key] is None else report[key]}" for key in SHOWN]
    for name in ("familiar", "novel"):
        if name in report:
            part = report[name]
            lines.append(
                f"{name:>20}: {part['questions']} questions, answer_hit {part['answer_hit']}, "
                f"refusal_accuracy {part['refusal_accuracy']}, "
                f"false_refusal_rate {part['false_refusal_rate']}"
            )
    if "novelty" in report:
        about = report["novelty"]
        lines.append(
            f"{'':>20}  (near twin: cosine >= {about['near_twin']} with one of "
            f"{about['training_questions']} training questions)"
        )
    if report["failures"]:
        lines.append(f"\nFailures ({len(report['failures'])}):")
    for f in report["failures"]:
        lines.append(
            f"  [{f['kind']}] {f['question']}\n      -> {f['problem']}: {f['answer'][:160]}"
        )
    return "\n".join(lines)


def _ratio(a: int, b: int) -> float | None:
    """``a / b``; None when the file has no question of that kind (not 0: nothing failed)."""
    return round(a / b, 4) if b else None


def _failure(q: Question, answer: str, problem: str) -> dict[str, str]:
    return {"question": q.question, "kind": q.kind, "problem": problem, "answer": answer}
