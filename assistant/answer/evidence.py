"""Evidence: measure the sentences of retrieved passages against the question, and rank them.

Each sentence gets its ``features.FEATURES``: its semantic similarity to the question, how much
of the question's informative vocabulary (IDF-weighted stems) it contains (a near word,
``words.py``, counts by its similarity), its passage's rank and retrieval scores, how recent it
is, whether it holds the kind of answer asked for or a year the question names, whether its
document marks it as superseded. The trained sentence ranker (``ranking.py``) weighs them into
the sentence's score; the answerability model (``answerability.py``) reads them to decide whether
to answer at all.
Sentence vectors come from the index (stored by the build), so scoring needs no model call beyond
the question's own embedding (and, once, the vectors of question words the corpus lacks).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace

import numpy as np

from ..index.scale import REFERENCE_SENTENCES, REFERENCE_WORDS, Scale, background_scale
from ..index.store import IndexVersion
from ..index.words import Encode, spellings, wordlike
from ..ingest.chunking import Span
from ..text import DIGITS, WORD, content_terms, stems, tokenize, years
from .cues import (
    MONEY_SHAPE,
    answer_positions,
    asked_units,
    counts,
    latest_year,
    marked_superseded,
    states_in,
    words_of,
)
from .features import question_part, sentence_features
from .question import Question
from .ranking import SentenceRanker
from .retrieval import Hit
from .synonyms import Thesaurus
from .tuning import DEFAULT, Tuning
from .wording import (
    Alternatives,
    Near,
    QuestionWords,
    alternatives_of,
    closeness,
    coverage,
    focus_term,
    unknown_share,
    unknown_terms,
    weighted_terms,
)

#: At most this many vectors of question words the corpus lacks are kept between questions.
MAX_UNKNOWN_WORDS = 4096


def _positions(passages: list[int]) -> list[int]:
    """Each sentence's position in its passage, from the passage index of each sentence."""
    out, previous, position = [], -1, 0
    for i in passages:
        position = position + 1 if i == previous else 0
        previous = i
        out.append(position)
    return out


def _recency(texts: list[str]) -> list[float]:
    """How recent each sentence's latest year is among the candidates': 0 (oldest) to 1."""
    years = [latest_year(t) for t in texts]
    dated = [y for y in years if y]
    if not dated or min(dated) == max(dated):
        return [0.0] * len(texts)
    low, high = min(dated), max(dated)
    return [(y - low) / (high - low) if y else 0.0 for y in years]


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
    #: Its document marks it as replaced ("was to be ...").
    superseded: bool = False
    #: The cosine of two sentence vectors that counts as ``Tuning.redundant`` with this encoder.
    redundant_cosine: float = DEFAULT.redundant
    #: The cosine that counts as ``Tuning.translated`` with this encoder.
    translated_cosine: float = DEFAULT.redundant
    #: Its values of ``FEATURES``, for a learned scorer.
    features: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def redundant_with(self, other: Candidate) -> bool:
        """Whether the two say the same: close vectors, or, in two languages, the same numbers
        and vectors as close as a translation's."""
        cosine = float(self.vector @ other.vector)
        if cosine >= self.redundant_cosine:
            return True
        if self.hit.chunk.language != other.hit.chunk.language:
            numbers = set(DIGITS.findall(self.text))
            return (
                bool(numbers)
                and cosine >= self.translated_cosine
                and (numbers == set(DIGITS.findall(other.text)))
            )
        return self.text == other.text


class EvidenceScorer:
    """Scores the candidate sentences of retrieved passages with the vectors stored by the build."""

    def __init__(
        self,
        thesaurus: Thesaurus | None = None,
        encode: Encode | None = None,
        *,
        ranker: SentenceRanker,
        tuning: Tuning = DEFAULT,
    ) -> None:
        self.thesaurus = thesaurus or Thesaurus()
        self.tuning = tuning
        #: Weighs each sentence's features into its score (``ranking.py``).
        self.ranker = ranker
        #: Encodes question words the corpus lacks, to find their near words in it.
        self.encode = encode
        self._lock = threading.Lock()
        self._idf: dict[str, tuple[str, dict[str, float], float]] = {}
        self._scales: dict[str, tuple[Scale, Scale]] = {}
        self._unknown: dict[str, np.ndarray] = {}  # vectors of such words, by stem

    def rank(
        self,
        version: IndexVersion,
        asked: Question,
        query_vector: np.ndarray,
        hits: list[Hit],
        *,
        twin_vector: np.ndarray | None = None,
    ) -> list[Candidate]:
        """All usable sentences of ``hits``, best first (``twin_vector``: ``embed_twin``'s)."""
        spans, vectors = self._units(version, hits)
        if not spans:
            return []
        texts = [hit.chunk.text[s.start : s.end] for _, hit, s in spans]
        semantic, twin, redundant_cosine, translated_cosine = self._similarities(
            version, vectors, query_vector, twin_vector
        )
        idf = self._idf_for(version)
        words = self._read_words(version, asked, hits, idf)
        q_terms, alternatives = words.question, words.alternatives
        near, headings, focus, lang = words.near, words.headings, words.focus, asked.language
        recency = _recency(texts)
        candidates = []
        shared = _question_part(asked, q_terms, idf, hits)
        counted = _counted(asked, alternatives)
        framed = [bool(asked.years & set(years(h.chunk.section))) for h in hits]
        positions = _positions([i for i, _, _ in spans])
        for (i, hit, span), text, vec, sem, twin_sem, rec, position in zip(
            spans, texts, vectors, semantic, twin, recency, positions, strict=True
        ):
            terms = frozenset(words_of(text, hit.chunk.language))
            context = terms | headings[i]
            overlap = coverage(q_terms, context, alternatives, near)
            known_held = words.known_held[i]
            if hit.chunk.language != lang != "en":
                # A Finnish or Swedish question is often answered from an English passage, whose
                # words rarely match its own: the overlap is read from the meaning instead.
                overlap = max(overlap, min(max(float(sem), 0.0), 1.0))
                known_held = max(known_held, min(max(float(sem), 0.0), 1.0))
            parts = _cues(asked, text, hit, focus=bool(focus), counted=counted, framed=framed[i])
            in_order = stems([w.casefold() for w in WORD.findall(text)], hit.chunk.language)
            anchors = answer_positions(text, asked.kinds)
            stale = bool(parts["stale"])
            features = sentence_features(
                shared,
                semantic=float(sem),
                overlap=overlap,
                rank=1 / (1 + i),
                recency=rec,
                dense=hit.dense,
                lexical=hit.lexical,
                fused=hit.score,
                position=position,
                length=len(text),
                near_answer=closeness(q_terms, in_order, anchors, alternatives, near),
                known_held=known_held,
                twin=float(twin_sem),
                **parts,
            )
            candidates.append(
                Candidate(
                    text,
                    span.start,
                    i,
                    hit,
                    0.0,
                    float(sem),
                    overlap,
                    terms,
                    vec,
                    superseded=stale,
                    redundant_cosine=redundant_cosine,
                    translated_cosine=translated_cosine,
                    features=features,
                )
            )
        scores = self.ranker.scores(np.array([c.features for c in candidates]))
        ranked = [replace(c, score=float(v)) for c, v in zip(candidates, scores, strict=True)]
        ranked.sort(key=lambda c: -c.score)
        return ranked

    def _similarities(
        self,
        version: IndexVersion,
        vectors: np.ndarray,
        query_vector: np.ndarray,
        twin_vector: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The sentences' similarities to the question (on the encoder's scale) and to its twin
        (cosines), and the cosines that count as ``Tuning.redundant`` and ``translated``."""
        scale = self._scales_for(version)[0]
        twin = query_vector if twin_vector is None else twin_vector
        return (
            scale(vectors @ query_vector.reshape(-1)),
            vectors @ twin.reshape(-1),
            scale.raw(self.tuning.redundant),
            scale.raw(self.tuning.translated),
        )

    def _read_words(
        self,
        version: IndexVersion,
        asked: Question,
        hits: list[Hit],
        idf: tuple[dict[str, float], float],
    ) -> QuestionWords:
        """The question's weighted words, what stands for them in the passages, and its focus."""
        question, query, lang = asked.text, asked.query, asked.language
        alternatives = alternatives_of(self.thesaurus.matches(query))
        q_terms = weighted_terms(question, idf, alternatives, lang)
        ctx_terms = weighted_terms(query, idf, alternatives, lang) if query != question else q_terms
        passages = [set(words_of(h.chunk.text, h.chunk.language)) for h in hits]
        headings = {
            i: set(tokenize(f"{h.chunk.title} {h.chunk.section}", h.chunk.language))
            for i, h in enumerate(hits)
        }
        near = self._near_words(
            version, query, q_terms | ctx_terms, set().union(*passages, *headings.values())
        )
        focus = focus_term(q_terms, idf)
        if focus and any(coverage({focus: 1.0}, p, alternatives, near) for p in passages):
            focus = ""  # the retrieved evidence does speak of it somewhere
        known = {t: w for t, w in q_terms.items() if t in idf[0]}
        known_held = {
            i: coverage(known, passage | headings[i], alternatives, near) if known else 1.0
            for i, passage in enumerate(passages)
        }
        return QuestionWords(q_terms, ctx_terms, alternatives, near, headings, focus, known_held)

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
        return table.near(vectors, candidates, self._scales_for(version)[1])

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
        """Compute the version's IDF table and similarity scales (and load the word lists) now,
        not on a question."""
        self._idf_for(version)
        self._scales_for(version)
        content_terms("warm up")

    def _scales_for(self, version: IndexVersion) -> tuple[Scale, Scale]:
        """The encoder's sentence and word similarity scales in this version (``index.scale``)."""
        cached = self._scales.get(version.name)
        if cached is None:
            model = version.manifest.model
            cached = (
                background_scale(version.sentences.vectors, REFERENCE_SENTENCES, model=model),
                background_scale(
                    version.words.vectors, REFERENCE_WORDS, model=model, table="words"
                ),
            )
            with self._lock:
                self._scales[version.name] = cached
                while len(self._scales) > 2:
                    self._scales.pop(next(iter(self._scales)))
        return cached

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


def _question_part(
    asked: Question, q_terms: dict[str, float], idf: tuple[dict[str, float], float], hits: list[Hit]
) -> dict[str, float]:
    """The features every candidate of ``asked`` shares."""
    return question_part(
        unknown_share=unknown_share(q_terms, idf),
        unknown_terms=unknown_terms(q_terms, idf),
        terms=len(q_terms),
        kinds_asked=len(asked.kinds),
        asks_latest=asked.latest,
        asks_year=bool(asked.years),
        top_lexical=max((h.lexical for h in hits), default=0.0),
        asks_cost=asked.cost,
        asks_unit=bool(asked_units(asked.text)),
        asks_count=bool(asked.counted),
    )


def _counted(asked: Question, alternatives: Alternatives) -> frozenset[str]:
    """The stems that name what ``asked`` counts: its own word and the documents' synonyms."""
    if not asked.counted:
        return frozenset()
    return frozenset({asked.counted}).union(*alternatives.get(asked.counted, ()))


def _cues(
    asked: Question, text: str, hit: Hit, *, focus: bool, counted: frozenset[str], framed: bool
) -> dict[str, float]:
    """A sentence's features read from cues (``cues.py``): the kinds of answer asked for that it
    holds, the same year (``framed``: its section heading names one), superseded, an amount of
    money, a number of the thing counted."""
    held = sum(1 for shape in asked.kinds if shape.search(text))
    same_year = bool(asked.years and asked.years.intersection(years(text)))
    stale = marked_superseded(text) or marked_superseded(hit.chunk.section)
    return {
        "kinds_held": float(held),
        "same_year": float(same_year),
        "heading_year": float(framed),
        "focus_missing": float(focus),
        "stale": float(stale),
        "money_held": float(bool(MONEY_SHAPE.search(text))),
        "unit_held": float(
            states_in(text, asked_units(asked.text)) and (same_year or not asked.years)
        ),
        "count_held": float(bool(counted) and counts(text, counted)),
    }
