"""Calibrate the refusal threshold (``min_evidence``) on one eval file, check it on another.

Runs every question once with refusals off, records the answer's confidence (shifted by the
question's length allowance, ``answer.required_evidence``), then picks the
threshold that maximises answer_hit + refusal_accuracy with false_refusal_rate <= 0.05 on the
calibration file, and reports the same threshold's metrics on the held-out file.

    python bench/calibrate.py eval/questions.jsonl eval/holdout.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.answer.answerability import required_evidence
from assistant.answer.factory import create_assistant
from assistant.config import Settings
from assistant.evaluation.questions import _contains_any, load_questions
from assistant.text import content_terms


def observe(assistant, questions):  # type: ignore[no-untyped-def]
    rows = []
    for q in questions:
        a = assistant.ask(q.question, q.history)
        # The score the question's length-adjusted bar compares: min_evidence = 0 gives the shift.
        margin = a.confidence - required_evidence(0.0, content_terms(q.question))
        rows.append((q.answerable, margin, q.answerable and _contains_any(a.text, q.answer_any)))
    return rows


def metrics(rows, threshold: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    ans = [(c, hit) for a, c, hit in rows if a]
    oos = [c for a, c, _ in rows if not a]
    return {
        "answer_hit": float(np.mean([hit and c >= threshold for c, hit in ans])),
        "false_refusal_rate": float(np.mean([c < threshold for c, _ in ans])),
        "refusal_accuracy": float(np.mean([c < threshold for c in oos])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calibration", type=Path, help="eval file to pick the threshold on")
    parser.add_argument("held_out", type=Path, nargs="*", help="eval files to check it on")
    args = parser.parse_args()
    calibration, held_out = args.calibration, args.held_out
    assistant = create_assistant(Settings.from_env().with_(min_evidence=-1.0, scorer="rules"))
    rows = observe(assistant, load_questions(calibration))
    best = None
    for t in np.arange(0.20, 0.70, 0.005):
        m = metrics(rows, float(t))
        if m["false_refusal_rate"] <= 0.05:
            value = m["answer_hit"] + m["refusal_accuracy"]
            if best is None or value > best[0]:
                best = (value, float(t), m)
    assert best is not None
    print(
        json.dumps({"file": str(calibration), "threshold": round(best[1], 3), **best[2]}, indent=1)
    )
    for path in held_out:
        m = metrics(observe(assistant, load_questions(path)), best[1])
        print(json.dumps({"file": str(path), "threshold": round(best[1], 3), **m}, indent=1))


if __name__ == "__main__":
    main()
