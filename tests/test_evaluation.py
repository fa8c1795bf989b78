"""`eval` metrics on a tiny hand-made file, and the BEIR metrics on a tiny hand-made dataset."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from assistant.answer.assistant import Assistant
from assistant.answer.retrieval import Retriever
from assistant.errors import AssistantError
from assistant.evaluation.beir import ndcg_at, recall_at, run_beir
from assistant.evaluation.matching import states_any
from assistant.evaluation.novelty import familiar
from assistant.evaluation.questions import SHOWN, evaluate, load_questions, report_text
from assistant.text import strip_markers


def _write(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def assistant(default_index, embedder) -> Assistant:  # type: ignore[no-untyped-def]
    settings, version = default_index
    return Assistant(settings, version, Retriever(embedder))


@pytest.mark.slow
def test_eval_metrics_on_a_tiny_file(assistant: Assistant, tmp_path: Path) -> None:
    file = _write(
        tmp_path / "q.jsonl",
        [
            {
                "question": "when will espoo be carbon neutral",
                "kind": "answerable",
                "answer_any": ["2030"],
            },
            {
                "question": "when will espoo be carbon neutral",
                "kind": "answerable_paraphrase",
                "answer_any": ["a string no answer contains"],
            },
            {"question": "give me a recipe for lasagna", "kind": "out_of_scope", "answer_any": []},
        ],
    )
    report = evaluate(assistant, load_questions(file))
    assert report["questions"] == 3 and report["answerable"] == 2 and report["out_of_scope"] == 1
    assert report["answer_hit"] == 0.5
    assert report["retrieval_hit_at_k"] == 0.5
    assert report["refusal_accuracy"] == 1.0
    assert report["false_refusal_rate"] == 0.0
    assert report["latency_p95_ms"] >= report["latency_p50_ms"] > 0
    # both answerable questions were answered (the same answer twice): its length
    answer = assistant.ask("when will espoo be carbon neutral")
    assert report["median_sentences"] == answer.text.count("] ") + 1 >= 1
    assert report["median_characters"] == len(strip_markers(answer.text))
    # of the one right answer, whether its first sentence holds "2030"
    first = answer.text.split(" [", 1)[0]
    assert report["answer_leads"] == (1.0 if "2030" in first else 0.0)
    assert [f["problem"] for f in report["failures"]] == [
        "answer lacks a string no answer contains (not retrieved)"
    ]


def test_eval_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "kind": "answerable", "answer_any": []}\n{oops\n')
    with pytest.raises(AssistantError, match="line 2"):
        load_questions(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hiilijalanjälki oli 9,02 tonnia asukasta kohden.", "9.02 tonnia"),
        ("Blominmäki renar avloppsvattnet från cirka 400 000 invånare.", "400,000"),
        ("Opinmäki avattiin 12. elokuuta 2015.", "12 August 2015"),
        ("Opinmäki öppnade den 12 augusti 2015.", "12 August 2015"),
        ("Puhdistamo otettiin käyttöön elokuussa 2023.", "August 2023"),
        ("Espoo sai 65,5 pistettä.", "65.5"),
        ("Espoon asukasluku ylitti 300 000 kesällä 2022.", "300 000"),
        ("Espoossa olisi noin 472 000 asukasta vuonna 2060.", "472"),
        # a percentage in any language and case
        ("Osuus nousee 35 prosenttiin.", "35 prosenttia"),
        ("Andelen ska stiga till 35 procent.", "35%"),
        ("Emissions fell by 80 per cent.", "80%"),
    ],
)
def test_an_answer_in_finnish_or_swedish_notation_states_the_expected_value(
    text: str, expected: str
) -> None:
    assert states_any(text, [expected])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Espoo sai 65 pistettä.", "65.5"),  # another number
        ("Opinmäki avattiin 12. heinäkuuta 2015.", "12 August 2015"),  # another month
        ("Päästöt olivat 1 100 tonnia vuonna 2019, 2020 ja 2021.", "2019 2020"),
        ("Espoossa on 4 000 asukasta.", "400"),  # not the thousands' first digits alone
        ("Päästöt laskevat vuoteen 2030 mennessä.", "20"),  # not inside a year
        ("Osuus nousee 35 prosenttiin.", "3.5%"),  # another percentage
    ],
)
def test_a_different_value_does_not_match(text: str, expected: str) -> None:
    assert not states_any(text, [expected])


def test_ranking_metrics() -> None:
    assert ndcg_at(["a", "b"], {"a": 1}) == 1.0
    assert ndcg_at(["b", "a"], {"a": 1}) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert ndcg_at(["x"], {"a": 1}) == 0.0
    assert recall_at(["a", "x", "b"], {"a": 1, "b": 1, "c": 1}, k=2) == pytest.approx(1 / 3)


def test_beir_on_a_tiny_dataset(embedder, tmp_path: Path) -> None:
    corpus = [
        {"_id": "d1", "title": "District heating", "text": "Coal was replaced by heat pumps."},
        {"_id": "d2", "title": "Buses", "text": "Electric buses run on renewable power."},
        {"_id": "d3", "title": "Forests", "text": "Nuuksio is a national park with lakes."},
    ]
    with gzip.open(tmp_path / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(d) for d in corpus))
    _write(
        tmp_path / "queries.jsonl",
        [
            {"_id": "q1", "text": "what replaced coal heating"},
            {"_id": "q2", "text": "national park with lakes"},
        ],
    )
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n"
    )
    result = run_beir(tmp_path, embedder)
    assert result["queries"] == 2 and result["documents"] == 3
    for mode in ("dense", "bm25", "hybrid"):
        assert result["modes"][mode]["ndcg@10"] == 1.0
        assert result["modes"][mode]["recall@100"] == 1.0


@pytest.mark.slow
def test_a_rate_with_nothing_to_count_is_none_not_zero(
    assistant: Assistant, tmp_path: Path
) -> None:
    file = _write(
        tmp_path / "q.jsonl",
        [
            {
                "question": "when will espoo be carbon neutral",
                "kind": "answerable",
                "answer_any": ["2030"],
            }
        ],
    )
    report = evaluate(assistant, load_questions(file))
    assert report["answer_hit"] == 1.0
    assert report["refusal_accuracy"] is None, "no out-of-scope question: nothing to score"


@pytest.mark.slow
def test_novelty_splits_the_questions_with_a_near_twin_in_training_from_the_rest(
    assistant: Assistant, tmp_path: Path
) -> None:
    trained = assistant.scorer.answerability.trained_on
    assert trained, "the shipped scorer names the files it was trained on"
    # one of those files, holding one question, beside the file to evaluate
    _write(
        tmp_path / trained[0],
        [{"question": "When will Espoo be carbon neutral?", "kind": "answerable"}],
    )
    file = _write(
        tmp_path / "new.jsonl",
        [
            {
                "question": "When will Espoo become carbon-neutral?",
                "kind": "answerable",
                "answer_any": ["2030"],
            },
            {
                "question": "How many marked hiking trails are there in Nuuksio?",
                "kind": "answerable",
                "answer_any": ["eight", "8"],
            },
            {"question": "give me a recipe for lasagna", "kind": "out_of_scope"},
        ],
    )
    questions = load_questions(file)
    flags, about = familiar(assistant, questions, tmp_path)
    assert flags == [True, False, False]
    assert about["training_questions"] == 1
    assert about["missing_files"] == [
        n for n in dict.fromkeys([*assistant.scorer.ranker.trained_on, *trained]) if n != trained[0]
    ]
    report = evaluate(assistant, questions, familiar=flags)
    assert report["familiar"]["questions"] == 1 and report["familiar"]["out_of_scope"] == 0
    assert report["familiar"]["answer_hit"] == 1.0
    assert report["novel"]["questions"] == 2 and report["novel"]["answerable"] == 1
    assert report["novel"]["refusal_accuracy"] == report["refusal_accuracy"] == 1.0
    with pytest.raises(AssistantError, match="leave out --novelty"):
        familiar(assistant, questions, tmp_path / "elsewhere")


def test_the_text_report_shows_the_familiar_and_novel_questions_only_when_split() -> None:
    metrics = dict.fromkeys(SHOWN, 0.5) | {"questions": 4, "refusal_accuracy": None}
    failure = {"kind": "out_of_scope", "question": "q?", "problem": "answered", "answer": "a"}
    plain = report_text({**metrics, "failures": [failure]})
    assert "refusal_accuracy: n/a (no such questions in the file)" in plain
    assert "familiar" not in plain and "novel" not in plain
    assert plain.endswith("[out_of_scope] q?\n      -> answered: a")
    part = {"questions": 2, "answer_hit": 1.0, "refusal_accuracy": None, "false_refusal_rate": 0.0}
    split = report_text(
        {
            **metrics,
            "familiar": part,
            "novel": part | {"answer_hit": 0.0},
            "novelty": {"near_twin": 0.95, "training_questions": 7},
            "failures": [],
        }
    )
    assert "familiar: 2 questions, answer_hit 1.0" in split
    assert "novel: 2 questions, answer_hit 0.0" in split
    assert "with one of 7 training questions" in split and "Failures" not in split
