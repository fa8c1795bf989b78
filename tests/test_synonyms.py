"""Synonym rules: parsing, stemmed whole-word matching, the bundled list, their use in answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.answer.assistant import Assistant
from assistant.answer.retrieval import Retriever
from assistant.answer.synonyms import BUNDLED, load_thesaurus, parse
from assistant.errors import ConfigError

RULES = """
# transport
tram, trams, streetcar => light rail, tram
kid => child
per person, per capita => per resident
"""


def test_rules_parse_one_phrase_each_and_skip_comments() -> None:
    thesaurus = parse(RULES)
    assert len(thesaurus) == 6
    assert {m.phrase for m in thesaurus.matches("Is there a streetcar for kids?")} == {
        "streetcar",
        "kid",
    }


def test_phrases_match_stemmed_whole_words_only() -> None:
    thesaurus = parse(RULES)
    assert [m.phrase for m in thesaurus.matches("How many KIDS live here")] == ["kid"]
    assert thesaurus.matches("skids and kidneys") == []
    assert [m.phrase for m in thesaurus.matches("emissions per person in 2020")] == ["per person"]
    assert thesaurus.matches("a person per household") == []  # words out of order


def test_expansion_adds_the_documents_words_the_text_lacks() -> None:
    thesaurus = parse(RULES)
    assert thesaurus.expansion("when did the streetcar open") == "light rail tram"
    assert thesaurus.expansion("is the tram called light rail") == ""
    assert thesaurus.expansion("how is the weather") == ""


@pytest.mark.parametrize("line", ["rubbish waste", "=> waste", "rubbish =>", " , => x"])
def test_a_malformed_rule_names_its_line(line: str) -> None:
    with pytest.raises(ConfigError, match=r"line 2: .*documents' word"):
        parse(f"# ok\n{line}\n", source="my-list.txt")


def test_settings_value_selects_the_list(tmp_path: Path) -> None:
    assert len(load_thesaurus("none")) == 0
    assert len(load_thesaurus("")) == len(load_thesaurus(str(BUNDLED))) > 300
    custom = tmp_path / "s.txt"
    custom.write_text("kid => child\n", encoding="utf-8")
    assert len(load_thesaurus(str(custom))) == 1
    with pytest.raises(ConfigError, match="ASSISTANT_SYNONYMS"):
        load_thesaurus(str(tmp_path / "missing.txt"))


def test_bundled_targets_are_words_of_the_default_corpus() -> None:
    """Each rule must lead to wording the documents really use, or it can never match."""
    corpus = " ".join(
        p.read_text(encoding="utf-8").casefold()
        for p in Path("documents").iterdir()
        if p.suffix in (".md", ".txt")
    )
    corpus = re.sub(r"[-‐–]", " ", corpus)
    missing = []
    for rule in load_thesaurus("").rules:
        phrase, targets = rule.match.phrase, rule.match.wording
        for target in targets:
            if not re.search(rf"\b{re.escape(re.sub(r'-', ' ', target.casefold()))}", corpus):
                missing.append(f"{phrase} => {target}")
    assert not missing, missing


@pytest.fixture(scope="module")
def made_up_word(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A rule for a word no document or model knows, so only the rule can connect it."""
    path = tmp_path_factory.mktemp("synonyms") / "synonyms.txt"
    path.write_text("zorblax => light rail\n", encoding="utf-8")
    return str(path)


@pytest.mark.slow
def test_a_rule_lets_a_residents_word_find_the_documents_word(
    default_index, embedder, made_up_word: str
) -> None:  # type: ignore[no-untyped-def]
    settings, version = default_index
    # ("how many stops does the zorblax have" was answered until row 144's retrained model put
    # it at 0.55, under the English threshold of 0.63, with the rule; 0.09 without it)
    question = "how many passengers will the zorblax carry"
    # without the reader: the rule is retrieval's, and the reader, which reads the documents'
    # words beside the made-up one, still refuses this question (a false refusal of row 185)
    plain_settings = settings.with_(reader=False)
    with_rule = Assistant(plain_settings.with_(synonyms=made_up_word), version, Retriever(embedder))
    without = Assistant(plain_settings.with_(synonyms="none"), version, Retriever(embedder))
    answer = with_rule.ask(question)
    plain = without.ask(question)
    assert not answer.refused, answer.text
    assert "light rail" in answer.text.casefold()
    assert answer.citations[0].document == "jokeri-light-rail.md"
    assert plain.refused, "without the rule nothing connects the made-up word to the documents"
    assert answer.confidence > plain.confidence
