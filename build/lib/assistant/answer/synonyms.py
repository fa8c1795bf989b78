"""Synonyms: the words residents type mapped to the words the documents use ("rubbish" -> waste).

The list is a text file in Solr's one-way format, one rule per line::

    # comments start with '#'
    rubbish, trash, garbage => waste
    per person, per capita => per resident

Phrases match whole words after Snowball stemming, so "kids" matches a rule for "kid". A match
lets the question's word count as found where a passage has the documents' word: in the
sentence scoring of evidence.py, and as extra BM25 query words (``Thesaurus.expansion``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError
from ..text import stems, tokenize, words

#: The list shipped with the package, written from the corpus vocabulary (docs/evaluation.md).
BUNDLED = Path(__file__).with_name("synonyms.txt")


@dataclass(frozen=True)
class Match:
    """A rule that matched a question: the question's stems and the documents' wording."""

    phrase: str
    stems: frozenset[str]
    #: The documents' wordings as written, and as stem sets.
    wording: tuple[str, ...]
    targets: tuple[frozenset[str], ...]


@dataclass(frozen=True)
class Rule:
    """One phrase of a line: its stemmed words, and what a match of them reports."""

    key: tuple[str, ...]
    match: Match


@dataclass(frozen=True)
class Thesaurus:
    """Phrase rules, looked up by the stem of their first word."""

    rules: tuple[Rule, ...] = ()
    by_first: dict[str, tuple[Rule, ...]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.rules)

    def matches(self, text: str) -> list[Match]:
        """The rules whose phrase occurs in ``text`` (as whole, stemmed words)."""
        if not self.rules:
            return []
        said = stems(words(text))
        found: dict[str, Match] = {}
        for i, word in enumerate(said):
            for rule in self.by_first.get(word, ()):
                if tuple(said[i : i + len(rule.key)]) == rule.key:
                    found.setdefault(rule.match.phrase, rule.match)
        return list(found.values())

    def expansion(self, text: str) -> str:
        """The documents' words for the phrases of ``text``, each once, less those it has."""
        seen = set(tokenize(text))
        extra = []
        for match in self.matches(text):
            for word in words(" ".join(match.wording)):
                stem = tokenize(word)
                if stem and stem[0] not in seen:
                    seen.add(stem[0])
                    extra.append(word)
        return " ".join(extra)


def parse(text: str, source: str = "synonyms") -> Thesaurus:
    """Rules from Solr one-way lines; a malformed line raises ConfigError naming it."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        left, arrow, right = line.partition("=>")
        phrases = [p.strip().casefold() for p in left.split(",") if p.strip()]
        targets = tuple(t.strip() for t in right.split(",") if t.strip())
        if not arrow or not phrases or not targets:
            raise ConfigError(
                f"{source}, line {number}: {raw.strip()!r} is not a rule; write "
                "'what residents type, another => the documents' word'."
            )
        usable = tuple((t, frozenset(tokenize(t))) for t in targets)
        usable = tuple((t, stemmed) for t, stemmed in usable if stemmed)
        wording = tuple(t for t, _ in usable)
        target_stems = tuple(stemmed for _, stemmed in usable)
        for phrase in phrases:
            key = tuple(stems(words(phrase)))
            if key:
                match = Match(phrase, frozenset(tokenize(phrase)), wording, target_stems)
                rules.append(Rule(key, match))
    by_first: dict[str, list[Rule]] = {}
    for rule in rules:
        by_first.setdefault(rule.key[0], []).append(rule)
    return Thesaurus(tuple(rules), {k: tuple(v) for k, v in by_first.items()})


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Thesaurus:
    return parse(Path(path).read_text(encoding="utf-8"), source=path)


def load_thesaurus(setting: str) -> Thesaurus:
    """The list a ``Settings.synonyms`` value names: '' for the bundled one, 'none' for none."""
    if setting.strip().lower() == "none":
        return Thesaurus()
    path = Path(setting).expanduser() if setting.strip() else BUNDLED
    if not path.is_file():
        raise ConfigError(
            f"Synonym list {path} not found; set ASSISTANT_SYNONYMS to a file, or to 'none'."
        )
    return _load(str(path), path.stat().st_mtime)
