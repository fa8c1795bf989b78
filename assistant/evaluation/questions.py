"""Evaluation: answer quality, retrieval hits and refusals on a JSON-lines question file.

Each line: ``{"question", "kind", "answer_any": [...], "history": [...]?}``. ``kind`` is
``answerable`` (or anything starting with it, e.g. ``answerable_followup``) or ``out_of_scope``.
"""

from __future__ import annotations

import json
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


def evaluate(assistant: Assistant, questions: list[Question]) -> dict[str, Any]:
    """Run every question and compute the metrics (keys as in ``eval --json``)."""
    latencies, failures = [], []
    sentences: list[int] = []  # of each answered answerable question's answer
    characters: list[int] = []
    answer_hits = retrieval_hits = answerable = refused_ok = out_of_scope = false_refusals = 0
    leading = 0  # answers whose first sentence holds the answer
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
        if q.answerable:
            answerable += 1
            hit = not answer.refused and states_any(answer.text, q.answer_any)
            retrieved = any(states_any(p, q.answer_any) for p in passages)
            answer_hits += hit
            first = SENTENCE_MARKERS.split(answer.text, maxsplit=1)[0]
            leading += hit and states_any(first, q.answer_any)
            if not answer.refused:
                sentences.append(len(SENTENCE_MARKERS.findall(answer.text)))
                characters.append(len(strip_markers(answer.text)))
            retrieval_hits += retrieved
            false_refusals += answer.refused
            if not hit:
                problem = (
                    "refused" if answer.refused else "answer lacks " + " / ".join(q.answer_any)
                )
                if not retrieved:
                    problem += " (not retrieved)"
                failures.append(_failure(q, answer.text, problem))
        else:
            out_of_scope += 1
            refused_ok += answer.refused
            if not answer.refused:
                failures.append(_failure(q, answer.text, "answered instead of refusing"))
    lat = np.array(latencies) if latencies else np.zeros(1)
    return {
        "questions": len(questions),
        "answerable": answerable,
        "out_of_scope": out_of_scope,
        "answer_hit": _ratio(answer_hits, answerable),
        "answer_leads": _ratio(leading, answer_hits),
        "retrieval_hit_at_k": _ratio(retrieval_hits, answerable),
        "k": k,
        "refusal_accuracy": _ratio(refused_ok, out_of_scope),
        "false_refusal_rate": _ratio(false_refusals, answerable),
        "median_sentences": float(np.median(sentences)) if sentences else None,
        "median_characters": float(np.median(characters)) if characters else None,
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 1),
        "latency_p95_ms": round(float(np.percentile(lat, 95)), 1),
        "failures": failures,
    }


def _ratio(a: int, b: int) -> float | None:
    """``a / b``; None when the file has no question of that kind (not 0: nothing failed)."""
    return round(a / b, 4) if b else None


def _failure(q: Question, answer: str, problem: str) -> dict[str, str]:
    return {"question": q.question, "kind": q.kind, "problem": problem, "answer": answer}
