"""Answers: extractive and grounded by default, written by a language model when one is configured.

Every sentence of an extractive answer is quoted from a retrieved passage and followed by its
citation marker ``[n]``. When the evidence is weak the assistant says so instead of guessing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import GenerationError
from ..i18n import translate
from ..index.store import IndexVersion
from .answerability import candidate_features
from .answers import Answer, answered, pieces
from .composition import Citation, citation_for, compose, in_own_language, quotes_for
from .conversation import Turn, not_repeating
from .cues import without_time_cues
from .evidence import Candidate, EvidenceScorer
from .language import warm_up as load_language_models
from .notes import other_years_note
from .places import gazetteer
from .question import Question, read_question
from .reader import Reader, reader_for, reader_order
from .refusals import NO_MISMATCH, Mismatch, elsewhere_places, mismatch, refusal_text
from .retrieval import Hit, Retriever
from .scorer import Scorer, scorer_for
from .synonyms import load_thesaurus
from .topics import covered_topics


class Assistant:
    """Answers from the live index version; ``swap`` replaces it without blocking readers."""

    def __init__(
        self,
        settings: Settings,
        version: IndexVersion,
        retriever: Retriever,
        *,
        generator: Any | None = None,
        scorer: Scorer | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.generator = generator
        self._version = version
        #: The trained ranker and answerability model (``scorer.py``; by default the encoder's).
        self.scorer = scorer or scorer_for(settings)
        #: The answer path's numbers: the record the retriever was given (``tuning.py``).
        self.tuning = retriever.tuning
        self._scorer = EvidenceScorer(
            load_thesaurus(settings.synonyms),
            retriever.embed_words,
            ranker=self.scorer.ranker,
            tuning=self.tuning,
        )
        self._swap_lock = threading.Lock()
        self._reader: Reader | None = None

    @property
    def version(self) -> IndexVersion:
        return self._version

    def swap(self, version: IndexVersion) -> None:
        """Serve ``version`` from now on; requests already running finish on the old one."""
        self.warm_up(version)  # before the switch, so no question pays for it
        with self._swap_lock:
            self._version = version

    def warm_up(self, version: IndexVersion | None = None) -> None:
        """Load the model and precompute the version's word statistics."""
        self.retriever.embed_query("warm up")
        self._scorer.prepare(version or self._version)
        gazetteer()
        load_language_models()
        if self.scorer.answerability.reads():
            self.reader.logits("warm up", ["warm up"])

    def ask(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), *, language: str = ""
    ) -> Answer:
        """Answer ``question`` (with the conversation so far in ``history``); ``language`` is the
        interface's, which decides for a question too short to tell its own."""
        answer: Answer | None = None
        for item in self.stream(question, history, language=language):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(
        self, question: str, history: Sequence[Turn | dict[str, str]] = (), *, language: str = ""
    ) -> Iterator[str | Answer]:
        """Yield text pieces, then the final Answer (whose text is authoritative)."""
        version = self._version  # one consistent version for the whole answer
        timings: dict[str, float] = {}
        started = time.perf_counter()
        recent = history[-self.settings.max_history :]
        asked = read_question(
            question,
            recent,
            max_chars=self.settings.max_question_chars,
            language=language,
            only_in=version.lexical.only_in,
            spellings=version.lexical.respellings,
            tuning=self.tuning,
        )
        if not asked.text or asked.live or asked.override:
            yield self._refusal(version, asked, timings, started)
            return
        asked, ranked, result_hits, confidence, answerable = self._read(version, asked, timings)
        if answerable and not asked.follow_up and self.scorer.answerability.reads():
            # (a follow-up read with the previous exchange: the reader would lead with what the
            # previous reply said rather than with what is asked now)
            ranked = self.reordered(asked, ranked, timings)
        passages = tuple(h.chunk.id for h in result_hits)
        elsewhere = elsewhere_places(asked, ranked)
        if asked.follow_up:  # lead with what the previous reply did not say
            ranked = not_repeating(ranked, recent)
        ranked = in_own_language(ranked, asked.language)
        if not answerable or elsewhere:
            missed = NO_MISMATCH
            if ranked and not elsewhere and (asked.years or asked.latest):
                # the refusal still says which years the documents give instead
                found = mismatch(
                    asked, *self._compose(asked, ranked, result_hits), date.today().year
                )
                missed = Mismatch(elsewhen=found.elsewhen, ahead=found.ahead)
            yield self._refusal(
                version,
                asked,
                timings,
                started,
                confidence,
                passages,
                missed,
                elsewhere=elsewhere,
            )
            return
        extractive = self._compose(asked, ranked, result_hits)
        text, citations = extractive
        missed = mismatch(asked, text, citations, date.today().year)
        if missed:  # another year, a target where now is asked, or no figure where one is
            yield self._refusal(version, asked, timings, started, confidence, passages, missed)
            return
        if self.generator is not None:
            yield from self._generate(
                version, asked, result_hits, extractive, timings, started, confidence
            )
            return
        yield from pieces(text)
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        yield answered(
            version,
            asked,
            text,
            citations,
            timings,
            passages,
            confidence,
            note=other_years_note(asked.language, asked.years, citations),
        )

    def _read(
        self, version: IndexVersion, asked: Question, timings: dict[str, float]
    ) -> tuple[Question, list[Candidate], list[Hit], float, bool]:
        """The question's scored sentences, passages, answerability and whether it is answerable;
        a follow-up that may be a new question is also read alone, and the better answered
        reading wins (its timings are added)."""
        ranked, hits = self.evidence(version, asked, timings)
        confidence, answerable = self.answerable(asked, ranked, timings)
        if asked.may_stand_alone:
            alone = replace(asked, query=asked.text, may_stand_alone=False)
            second: dict[str, float] = {}
            ranked_alone, hits_alone = self.evidence(version, alone, second)
            for step, ms in second.items():
                timings[step] = timings.get(step, 0.0) + ms
            p_alone, answerable_alone = self.answerable(alone, ranked_alone, second)
            if p_alone > confidence:
                return alone, ranked_alone, hits_alone, p_alone, answerable_alone
        return asked, ranked, hits, confidence, answerable

    def answerable(
        self,
        asked: Question,
        ranked: Sequence[Candidate],
        timings: dict[str, float] | None = None,
    ) -> tuple[float, bool]:
        """The probability that the documents answer ``asked`` (``answerability.py``) and whether
        it reaches the threshold for the question's language."""
        if not ranked:
            return 0.0, False
        model = self.scorer.answerability
        logit = None
        if model.reads():
            logit = float(self._logits(asked, ranked[: model.sentences_read], timings).max())
        probability = model.probability(candidate_features(ranked, asked.language, logit))
        return probability, probability >= model.threshold_for(asked.language)

    def reordered(
        self, asked: Question, ranked: Sequence[Candidate], timings: dict[str, float] | None = None
    ) -> list[Candidate]:
        """``ranked`` with its ``Tuning.reader_reorders`` best sentences in the reader's order
        (``reader.reader_order``)."""
        top = ranked[: self.tuning.reader_reorders]
        if len(top) < 2:
            return list(ranked)
        logits = self._logits(asked, top, timings)
        return reader_order(ranked, logits, self.tuning.reader_weight)

    def _logits(
        self, asked: Question, read: Sequence[Candidate], timings: dict[str, float] | None
    ) -> np.ndarray:
        """The reader's logits that each of ``read`` answers ``asked`` (timed in ``read_ms``)."""
        t = time.perf_counter()
        logits = self.reader.logits(self.reader_question(asked), [c.text for c in read])
        if timings is not None:
            timings["read_ms"] = timings.get("read_ms", 0.0) + (time.perf_counter() - t) * 1000
        return logits

    def reader_question(self, asked: Question) -> str:
        """The question as the reader reads it: as retrieval does (a follow-up joined with the
        previous exchange: "How many are there?" is about city bikes), without its time cues
        (``cues.without_time_cues``), and with the documents' words for the residents' ones the
        thesaurus knows."""
        expansion = self._scorer.thesaurus.expansion(asked.query)
        return " ".join((without_time_cues(asked.query), expansion)).strip()

    @property
    def reader(self) -> Reader:
        """The reader (``reader.py``), loaded on first use."""
        if self._reader is None:
            self._reader = reader_for(self.settings)
        return self._reader

    def evidence(
        self, version: IndexVersion, asked: Question, timings: dict[str, float] | None = None
    ) -> tuple[list[Candidate], list[Hit]]:
        """The scored sentences of the passages retrieved for ``asked`` (best first), and those
        passages; ``timings`` gets the embedding, retrieval and selection times (the question's
        second reading, ``start_twin``, overlaps the first two; selection waits for it)."""
        timings = {} if timings is None else timings
        t = time.perf_counter()
        twin_job = self.retriever.start_twin(asked.query)  # needed only to rank the sentences
        qvec = self.retriever.embed_query(asked.query)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        expansion = self._scorer.thesaurus.expansion(asked.query)  # BM25 reads documents' words
        result = self.retriever.search(
            version,
            asked.query,
            k=self.settings.top_k + self.tuning.extra_evidence,
            query_vector=qvec,
            lexical_query=f"{asked.query} {expansion}" if expansion else None,
            held_back=self.tuning.held_back_evidence,
            language=asked.language,
        )
        timings["retrieve_ms"] = result.seconds * 1000
        t = time.perf_counter()
        twin = twin_job.result()
        ranked = self._scorer.rank(version, asked, qvec, result.hits, twin_vector=twin)
        timings["select_ms"] = (time.perf_counter() - t) * 1000
        return ranked, result.hits

    def _generate(
        self,
        version: IndexVersion,
        asked: Question,
        hits: list[Hit],
        extractive: tuple[str, tuple[Citation, ...]],
        timings: dict[str, float],
        started: float,
        confidence: float,
    ) -> Iterator[str | Answer]:
        from .generation import validate_markers

        passages = [h.chunk for h in hits]
        pieces: list[str] = []
        note = ""
        t = time.perf_counter()
        try:
            for piece in self.generator.stream(asked.text, passages):  # type: ignore[union-attr]
                pieces.append(piece)
                yield piece
            text, used = validate_markers("".join(pieces), len(passages))
            if not used:
                raise GenerationError("the model's answer cited none of the passages")
            citations = tuple(
                citation_for(n, hits[n - 1], quotes_for(text, hits[n - 1].chunk.text)) for n in used
            )
        except GenerationError as exc:
            text, citations = extractive
            note = translate(
                asked.language,
                "The language model could not be used ({error}); this answer quotes the sources.",
                error=exc,
            )
        timings["generate_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        ids = tuple(h.chunk.id for h in hits)
        yield answered(version, asked, text, citations, timings, ids, confidence, note=note)

    def _compose(
        self, asked: Question, ranked: list[Candidate], hits: list[Hit]
    ) -> tuple[str, tuple[Citation, ...]]:
        """The extractive answer to ``asked`` from its ranked sentences."""
        return compose(
            ranked,
            hits,
            latest_first=asked.latest,
            wanted=asked.kinds,
            tuning=self.tuning,
            language=asked.language,
            asked_years=asked.years,
            cost=asked.cost,
            asked_words=asked.words,
        )

    def _refusal(
        self,
        version: IndexVersion,
        asked: Question,
        timings: dict[str, float],
        started: float,
        confidence: float = 0.0,
        passages: tuple[str, ...] = (),
        missed: Mismatch = NO_MISMATCH,
        *,
        elsewhere: Sequence[str] = (),
    ) -> Answer:
        topics = covered_topics(version, language=asked.language)
        text = refusal_text(asked, topics, elsewhere=elsewhere, mismatch=missed)
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        return Answer(
            text=text,
            citations=(),
            refused=True,
            timings=timings,
            index_version=version.name,
            query=asked.text if asked.live or asked.override else asked.query,
            passages=passages,
            confidence=confidence,
            language=asked.language,
        )
