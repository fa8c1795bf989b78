"""Evidence: score the sentences of retrieved passages against the question.

A sentence's score mixes its semantic similarity to the question with how much of the question's
informative vocabulary (IDF-weighted stems) it contains (a near word, ``words.py``, counts by its
similarity), plus a little credit for its passage's
rank and for recent years, less a little for a statement its document marks as superseded (more
when the question asks about the past).
Sentence vectors come from the index (pooled from their passage's model pass at build time), so
scoring needs no model call beyond the question's own embedding (and, once, the vectors of
question words the corpus lacks).
The best score is the assistant's confidence: below ``Settings.min_evidence`` it refuses.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field

import numpy as np

from .chunking import Span
from .index import IndexVersion
from .lexical import content_terms, tokenize
from .retrieval import Hit
from .synonyms import Match, Thesaurus
from .words import Encode, spellings, wordlike

#: Weights of semantic similarity, word overlap and passage rank in a sentence's score.
W_SEMANTIC, W_OVERLAP, W_RANK = 0.75, 0.3, 0.05
#: Two sentences this close (cosine of their vectors, or Jaccard of their stems) say the same
#: thing, or too nearly so; the answer keeps one and leaves room for other evidence.
REDUNDANT, REDUNDANT_TERMS = 0.9, 0.6
#: At most this many vectors of question words the corpus lacks are kept between questions.
MAX_UNKNOWN_WORDS = 4096
#: Penalty when the question's most specific known word appears in none of the retrieved passages.
FOCUS_PENALTY = 0.1
#: Bonus for sentences about the most recent years (larger when the question asks for "now").
RECENCY_BONUS, RECENCY_BONUS_LATEST = 0.02, 0.06
_LATEST = re.compile(
    r"\b(now|currently|current|latest|today|these days|nowadays|still|most recent|newest|"
    r"recent|recently|this year|at the moment|anymore|present)\b",
    re.I,
)
#: Penalty for a statement its document marks as superseded ("the older programme set...", "the
#: unit was to be shut down in 2020"); a bonus as large when the question asks about the past
#: ("what year was espoo originally aiming for?"). "A year earlier
#: than planned", "support earlier" and "older people" mark nothing.
STALE_PENALTY = 0.05
_STALE = re.compile(
    r"\b((an|the|that|same|in)\s+(older|earlier)(?!\s+than)|previous|former|formerly|originally|"
    r"superseded|was to be|were to be|at that time|at the time(?!\s+of)|still said|used to)\b",
    re.I,
)
_ASKS_PAST = re.compile(
    r"\b(used to|originally|previous|previously|earlier|older|old|former|before|history|first|"
    r"in the past|back then|at first|initially)\b",
    re.I,
)
#: Bonus for a sentence that holds the kind of thing the question asks for (a date, a number, a
#: person's or a thing's name...).
ANSWER_TYPE_BONUS = 0.05
_MONTHS = (
    r"(january|february|march|april|may|june|july|august|september|october|november|"
    r"december|spring|summer|autumn|winter)"
)
_ASKS = (
    (
        re.compile(r"\b(when|what year|which year|since when|by when|how soon|what date)\b", re.I),
        re.compile(rf"\b(1[89]\d\d|20\d\d)\b|\b{_MONTHS}\b", re.I),
    ),
    (
        re.compile(
            r"\bhow (many|much|far|old|long|big|large|high|tall)\b|\b(what|which) "
            r"(percentage|share|proportion|amount|number)\b|\bper ?cent",
            re.I,
        ),
        # A quantity: a number that is not a bare year.
        re.compile(r"(?<![\d,.])(?!(?:19|20)\d\d(?![\d,.]\d))\d[\d,.]*"),
    ),
    (
        re.compile(r"^\s*who\b|\bwho (is|was|are|were|chairs|leads|led|runs)\b", re.I),
        re.compile(r"\S\s+[A-ZÅÄÖ][\w-]+(\s+[A-ZÅÄÖ][\w-]+)+"),
    ),
    (
        # A name: quoted, or after "called"/"named"/"titled"/"known as".
        re.compile(r"\b(called|named|titled|name of)\b", re.I),
        re.compile(
            r"[\"“][^\"”]{3,80}[\"”]|\b(called|named|titled|known as)\s+(the\s+)?[\"“A-ZÅÄÖ]"
        ),
    ),
)
#: Bonus for a sentence that defines what a "what is X" question asks about ("X is ...").
DEFINITION_BONUS = 0.08
_DEFINE = (
    re.compile(
        r"^\s*(?:(?:what|who)\s*(?:is|are|was|were|'s|’s)|whats|whos)\s+(?P<x>.+?)[\s?.!]*$", re.I
    ),
    re.compile(r"^\s*what\s+(?:does|do|did)\s+(?P<x>.+?)\s+(?:mean|stand for)\b", re.I),
    re.compile(
        r"^\s*(?:tell me about|explain|define|what is meant by)\s+(?P<x>.+?)[\s?.!]*$", re.I
    ),
)
_DETERMINER = {"the", "a", "an"}
_PRONOUNS = {"it", "that", "this", "these", "those", "they", "he", "she", "them", "there", "one"}
_DEFINING = re.compile(
    r"^(?:\([^)]{1,40}\)\s*,?\s*)?"  # "City as a Service (CaaS) is ..."
    r"(?:is|are|was|were|means|refers to|stands for|is called|used to be)\b",
    re.I,
)
_WORD = re.compile(r"[\w’'-]+")
#: An address in a text stands for the word a resident asks with: "is there an email I can
#: write to?" is answered by "... at kestava@espoo.fi", which never says "email".
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b")
_WEB = re.compile(
    r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+(\.[\w-]+)*\.(fi|com|org|net|eu|info)\b", re.I
)
_ADDRESS_WORDS = (
    (_EMAIL, tokenize("email e-mail")),
    (_WEB, tokenize("website web site webpage online link url")),
)


def _words_of(text: str) -> list[str]:
    """The stems of ``text``, plus the words its email or web address stands for."""
    words = tokenize(text)
    for address, implied in _ADDRESS_WORDS:
        if address.search(text):
            return words + implied
    return words


def defined_subject(question: str) -> list[str]:
    """The words of X in "what is X" / "what does X mean" / "tell me about X" (else empty)."""
    for pattern in _DEFINE:
        m = pattern.search(question)
        if m:
            words = [w.casefold() for w in _WORD.findall(m.group("x"))]
            while words and words[0] in _DETERMINER:
                words = words[1:]
            if words[-2:] in (["in", "espoo"], ["for", "espoo"]):
                words = words[:-2]
            if set(words) <= _PRONOUNS:  # "what is it?" names nothing to define
                return []
            return words if 0 < len(words) <= 6 else []
    return []


def defines(sentence: str, subject: list[str]) -> bool:
    """Whether ``sentence`` opens with ``subject`` and a defining verb ("X (ABC) is ...")."""
    if not subject:
        return False
    words = list(_WORD.finditer(sentence))
    start = 1 if words and words[0].group().casefold() in _DETERMINER else 0
    head = words[start : start + len(subject)]
    if len(head) < len(subject):
        return False
    stems = _stems([w.group().casefold() for w in head])
    if stems != _stems(subject):
        return False
    return bool(_DEFINING.search(sentence[head[-1].end() :].lstrip(" ,\"”’'")))


def _stems(words: list[str]) -> list[str]:
    from .lexical import _stemmer

    return list(_stemmer().stemWords([w.removesuffix("'s").removesuffix("’s") for w in words]))


_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")


def _focus_term(weights: dict[str, float], idf: tuple[dict[str, float], float]) -> str:
    """The rarest question word that the corpus knows (unknown words may be typos)."""
    table, unseen = idf
    known = [(w, t) for t, w in weights.items() if t in table]
    if not known:
        return ""
    weight, term = max(known)
    return term if weight >= 0.5 * unseen else ""


def asked_kinds(question: str) -> list[re.Pattern[str]]:
    """The shapes of what ``question`` asks for (a date, a quantity, a name...); a sentence
    with one of them gets ``ANSWER_TYPE_BONUS``."""
    return [shape for asks, shape in _ASKS if asks.search(question)]


def asks_for_latest(question: str) -> bool:
    """Whether a question asks for the current state ("now", "these days", "latest"...)."""
    return bool(_LATEST.search(question))


def statement_year(text: str, date: str) -> int:
    """The latest year a sentence reports on: the latest it names up to its document's year
    ("by 2030" in a 2024 document is a target, not news); 0 when it names none."""
    limit = int(date[:4]) if date[:4].isdigit() else 9999
    return max((y for y in map(int, _YEAR.findall(text)) if y <= limit), default=0)


def _recency(texts: list[str], *, wants_latest: bool) -> list[float]:
    years = [max((int(y) for y in _YEAR.findall(t)), default=0) for t in texts]
    dated = [y for y in years if y]
    if not dated or min(dated) == max(dated):
        return [0.0] * len(texts)
    low, high = min(dated), max(dated)
    bonus = RECENCY_BONUS_LATEST if wants_latest else RECENCY_BONUS
    return [bonus * (y - low) / (high - low) if y else 0.0 for y in years]


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, scored against the question."""

    text: str
    start: int
    hit_index: int
    hit: Hit
    score: float
    semantic: float
    overlap: float
    terms: frozenset[str] = field(repr=False, compare=False)
    vector: np.ndarray = field(repr=False, compare=False)
    #: Its document marks it as replaced ("was to be ...") and the question is not about the past.
    superseded: bool = False

    def redundant_with(self, other: Candidate) -> bool:
        union = len(self.terms | other.terms)
        shared = len(self.terms & other.terms) / union if union else 1.0
        close = float(self.vector @ other.vector) >= REDUNDANT
        return close or shared >= REDUNDANT_TERMS or self.text == other.text


class EvidenceScorer:
    """Scores the candidate sentences of retrieved passages with the vectors stored by the build."""

    def __init__(self, thesaurus: Thesaurus | None = None, encode: Encode | None = None) -> None:
        self.thesaurus = thesaurus or Thesaurus()
        #: Encodes question words the corpus lacks, to find their near words in it.
        self.encode = encode
        self._lock = threading.Lock()
        self._idf: dict[str, tuple[str, dict[str, float], float]] = {}
        self._unknown: dict[str, np.ndarray] = {}  # vectors of such words, by stem

    def rank(
        self,
        version: IndexVersion,
        question: str,
        query: str,
        query_vector: np.ndarray,
        hits: list[Hit],
    ) -> list[Candidate]:
        """All usable sentences of ``hits``, best first."""
        spans, vectors = self._units(version, hits)
        if not spans:
            return []
        texts = [hit.chunk.text[s.start : s.end] for _, hit, s in spans]
        semantic = vectors @ query_vector.reshape(-1)
        idf = self._idf_for(version)
        alternatives = _alternatives(self.thesaurus.matches(query))
        q_terms = _weighted_terms(question, idf, alternatives)
        ctx_terms = _weighted_terms(query, idf, alternatives) if query != question else q_terms
        passages = [set(_words_of(h.chunk.text)) for h in hits]
        headings = {
            i: set(tokenize(f"{h.chunk.title} {h.chunk.section}")) for i, h in enumerate(hits)
        }
        near = self._near_words(
            version, query, q_terms | ctx_terms, set().union(*passages, *headings.values())
        )
        focus = _focus_term(q_terms, idf)
        if focus and any(_coverage({focus: 1.0}, p, alternatives, near) for p in passages):
            focus = ""  # the retrieved evidence does speak of it somewhere
        recency = _recency(texts, wants_latest=asks_for_latest(question))
        wanted = asked_kinds(question)
        subject = defined_subject(question)
        asks_past = bool(_ASKS_PAST.search(question))
        candidates = []
        for (i, hit, span), text, vec, sem, rec in zip(
            spans, texts, vectors, semantic, recency, strict=True
        ):
            terms = frozenset(_words_of(text))
            context = terms | headings[i]
            overlap = 0.7 * _coverage(q_terms, context, alternatives, near) + 0.3 * _coverage(
                ctx_terms, context, alternatives, near
            )
            score = W_SEMANTIC * float(sem) + W_OVERLAP * overlap + W_RANK / (1 + i) + rec
            if wanted and any(shape.search(text) for shape in wanted):
                score += ANSWER_TYPE_BONUS
            if focus:
                score -= FOCUS_PENALTY
            if defines(text, subject):
                score += DEFINITION_BONUS
            stale = bool(_STALE.search(text) or _STALE.search(hit.chunk.section))
            if stale:
                score += STALE_PENALTY if asks_past else -STALE_PENALTY
            candidates.append(
                Candidate(
                    text,
                    span.start,
                    i,
                    hit,
                    score,
                    float(sem),
                    overlap,
                    terms,
                    vec,
                    superseded=stale and not asks_past,
                )
            )
        candidates.sort(key=lambda c: -c.score)
        return candidates

    def _near_words(
        self, version: IndexVersion, text: str, weights: dict[str, float], candidates: set[str]
    ) -> Near:
        """For each word of ``weights``, the words of ``candidates`` that mean nearly the same."""
        table = version.words
        if not len(table):
            return {}
        vectors: dict[str, np.ndarray] = {}
        missing = []
        for stem in weights:
            if not wordlike(stem):
                continue
            if stem in table.row:
                vectors[stem] = table.vectors[table.row[stem]]
            elif stem in self._unknown:
                vectors[stem] = self._unknown[stem]
            else:
                missing.append(stem)
        spelled = spellings([text]) if missing and self.encode is not None else {}
        missing = [s for s in missing if s in spelled]
        if missing and self.encode is not None:
            encoded = self.encode([spelled[s] for s in missing])
            with self._lock:
                if len(self._unknown) > MAX_UNKNOWN_WORDS:
                    self._unknown.clear()
                for stem, vector in zip(missing, encoded, strict=True):
                    self._unknown[stem] = vectors[stem] = vector
        return table.near(vectors, candidates)

    def _units(
        self, version: IndexVersion, hits: list[Hit]
    ) -> tuple[list[tuple[int, Hit, Span]], np.ndarray]:
        """The answer units of ``hits`` and their vectors, as stored by the build."""
        spans: list[tuple[int, Hit, Span]] = []
        rows: list[np.ndarray] = []
        for i, hit in enumerate(hits):
            offsets, vecs = version.sentences.of(hit.faiss_id)
            spans.extend((i, hit, Span(int(a), int(b))) for a, b in offsets)
            rows.append(vecs)
        if not spans:
            return [], np.zeros((0, 0), np.float32)
        return spans, np.vstack(rows).astype(np.float32)

    def prepare(self, version: IndexVersion) -> None:
        """Compute the version's IDF table (and load the word lists) now, not on a question."""
        self._idf_for(version)
        content_terms("warm up")

    def _idf_for(self, version: IndexVersion) -> tuple[dict[str, float], float]:
        """Inverse document frequency of each stem over the version's passages (once per version).

        The counts are saved with the BM25 index, so start-up does not re-tokenise the corpus.
        """
        cached = self._idf.get(version.name)
        if cached is not None:
            return cached[1], cached[2]
        n = max(len(version.chunks), 1)
        df = version.lexical.df
        idf = {t: math.log(1 + n / c) for t, c in df.items()}
        unseen = math.log(1 + n)
        with self._lock:
            self._idf[version.name] = (version.name, idf, unseen)
            while len(self._idf) > 2:  # the served version and the one it replaced
                self._idf.pop(next(iter(self._idf)))
        return idf, unseen


Alternatives = dict[str, tuple[frozenset[str], ...]]
#: For a question word, the corpus words that mean nearly the same and how alike they are.
Near = dict[str, dict[str, float]]


def _alternatives(matches: list[Match]) -> Alternatives:
    """For each question stem a synonym rule matched, the documents' wordings that stand for it."""
    found: dict[str, list[frozenset[str]]] = {}
    for m in matches:
        for stem in m.stems:
            found.setdefault(stem, []).extend(m.targets)
    return {stem: tuple(targets) for stem, targets in found.items()}


def _weighted_terms(
    text: str, idf: tuple[dict[str, float], float], alternatives: Alternatives | None = None
) -> dict[str, float]:
    """IDF weight of each content stem; a word the corpus lacks weighs as its documents' word."""
    table, unseen = idf
    weights = {}
    for t in set(content_terms(text)):
        weight = table.get(t)
        if weight is None:
            known = [table[s] for alt in (alternatives or {}).get(t, ()) for s in alt if s in table]
            weight = max(known) if known else unseen
        weights[t] = weight
    return weights


def _coverage(
    weights: dict[str, float],
    terms: frozenset[str] | set[str],
    alternatives: Alternatives | None = None,
    near: Near | None = None,
) -> float:
    """The IDF share of the question's stems found in ``terms``: directly or via a synonym, or
    in part (its similarity) via a word that means nearly the same."""
    total = sum(weights.values())
    if not total:
        return 0.0
    alternatives = alternatives or {}
    near = near or {}
    found = 0.0
    for t, w in weights.items():
        if t in terms or any(alt <= terms for alt in alternatives.get(t, ())):
            found += w
        elif t in near:
            found += w * max((sim for s, sim in near[t].items() if s in terms), default=0.0)
    return found / total
