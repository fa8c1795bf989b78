"""Chunking: split a document by headings, then pack whole sentences into chunks (pure functions).

Invariants (tested): a chunk never splits a sentence;
``doc.text[chunk.start:chunk.end] == chunk.text``;
consecutive chunks of a section share ``overlap`` sentences; the same input gives the same ids.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..config import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from .documents import Document

SECTION_SEPARATOR = " › "
#: Sections that list references rather than content; they are not indexed.
_REFERENCE_HEADINGS = {"sources", "references", "source", "lähteet", "källor", "links"}


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: the unit that is embedded, retrieved and cited."""

    id: str
    document: str
    title: str
    section: str
    text: str
    start: int
    end: int
    page: int | None = None
    source: str = ""
    date: str = ""
    position: int = 0
    #: The document's language ("en", "fi", "sv"): its stemmer and stop words apply.
    language: str = "en"

    def embedding_text(self) -> str:
        """What the model sees: the passage with its title and section for context."""
        heading = (
            self.title if not self.section else f"{self.title}{SECTION_SEPARATOR}{self.section}"
        )
        return f"{heading}: {self.text}"


@dataclass(frozen=True)
class Span:
    """A sentence (or list item) of a text, with its character offsets."""

    start: int
    end: int


# --- sentences -------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "e.g",
    "i.e",
    "etc",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "no",
    "nos",
    "vs",
    "approx",
    "ca",
    "st",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "inc",
    "ltd",
    "co",
    "corp",
    "fig",
    "p",
    "pp",
    "vol",
    "u.s",
    "u.k",
    "mt",
    "km",
    "min",
    "max",
    "eur",
}
#: Finnish and Swedish abbreviations after which a full stop ends no sentence.
_LOCAL_ABBREVIATIONS = {
    "fi": {
        "esim",
        "mm",
        "ns",
        "n",
        "milj",
        "mrd",
        "klo",
        "jne",
        "ym",
        "yms",
        "ks",
        "vrt",
        "tms",
        "os",
        "puh",
        "tri",
        "huom",
        "kpl",
        "v",
        "eaa",
        "jaa",
        "ko",
        "ao",
        "s",
    },
    "sv": {
        "t.ex",
        "bl.a",
        "s.k",
        "m.m",
        "d.v.s",
        "dvs",
        "milj",
        "mdr",
        "kl",
        "t.o.m",
        "fr.o.m",
        "resp",
        "jfr",
        "osv",
        "nr",
        "ev",
        "f.d",
        "o.d",
        "s",
        "ung",
    },
}
# A candidate boundary: ., ! or ? (optionally followed by closing quotes/brackets), then space(s).
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
_NEXT_STARTS_SENTENCE = re.compile(r"[\"'“‘(\[]?[A-ZÅÄÖÜ0-9]")
_LINE_BLOCK = re.compile(r"[^\n]+")


def split_sentences(text: str, offset: int = 0, *, language: str = "en") -> list[Span]:
    """Split ``text`` into sentence spans; line breaks always end a sentence (lists, headings).

    A full stop after an abbreviation of ``language`` ("e.g.", "esim.", "t.ex.") ends none."""
    abbreviations = _ABBREVIATIONS | _LOCAL_ABBREVIATIONS.get(language, set())
    spans: list[Span] = []
    for line in _LINE_BLOCK.finditer(text):
        begin = line.start()
        segment = line.group()
        for match in _BOUNDARY.finditer(segment):
            cut = match.end()
            if cut >= len(segment) or not _NEXT_STARTS_SENTENCE.match(segment, cut):
                continue
            word = re.search(r"(\S+?)[.!?…]+[\"'”’)\]]*\s+$", segment[: match.end()])
            if word and segment[match.start()] == ".":
                token = word.group(1).lower().lstrip("(\"'“")
                if token in abbreviations or (len(token) == 1 and token.isalpha()):
                    continue
            _append(spans, text, begin, line.start() + match.end(), offset)
            begin = line.start() + match.end()
        _append(spans, text, begin, line.end(), offset)
    return spans


def _append(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start + offset, end + offset))


#: Shorter sentences are not offered as answers.
MIN_SENTENCE_CHARS = 25
_END = re.compile(r"[.!?][\"'”’)\]]*$")


def answer_units(text: str, language: str = "en") -> list[Span]:
    """Sentences that can stand alone as answers; one ending in ':' takes its list along."""
    spans = split_sentences(text, language=language)
    units: list[Span] = []
    i = 0
    while i < len(spans):
        start, end = spans[i].start, spans[i].end
        if text[start:end].rstrip().endswith(":"):
            j = i + 1
            while j < len(spans) and j - i <= 8 and spans[j].end - start <= 600:
                end = spans[j].end
                j += 1
                if "\n\n" in text[spans[j - 1].end : spans[j].start if j < len(spans) else end]:
                    break
            i = j
        else:
            i += 1
        if end - start >= MIN_SENTENCE_CHARS and _END.search(text[start:end]):
            units.append(Span(start, end))
    return units


# --- sections --------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]
    start: int
    end: int


def split_sections(doc: Document) -> list[Section]:
    """Sections between Markdown headings, each with its heading path (the H1 title is left out)."""
    text = doc.text
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    cursor = 0
    path: tuple[str, ...] = ()
    for match in _HEADING.finditer(text):
        if match.start() > cursor:
            sections.append(Section(path, cursor, match.start()))
        level, heading = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        if not (level == 1 and heading.casefold() == doc.title.casefold()):
            stack.append((level, heading))
        path = tuple(h for _, h in stack)
        cursor = match.end()
    if cursor < len(text):
        sections.append(Section(path, cursor, len(text)))
    return [
        s
        for s in sections
        if text[s.start : s.end].strip()
        and not any(h.strip().casefold() in _REFERENCE_HEADINGS for h in s.path)
    ]


# --- chunks ----------------------------------------------------------------------------------


def chunk_document(
    doc: Document, *, size: int = DEFAULT_CHUNK_SIZE, overlap: int = DEFAULT_CHUNK_OVERLAP
) -> list[Chunk]:
    """Chunks of about ``size`` characters made of whole sentences, ``overlap`` sentences shared."""
    chunks: list[Chunk] = []
    for section in split_sections(doc):
        sentences = split_sentences(
            doc.text[section.start : section.end], section.start, language=doc.language
        )
        for group in _pack(sentences, size, overlap):
            start, end = group[0].start, group[-1].end
            chunks.append(
                Chunk(
                    id=chunk_id(doc.id, start, end, doc.text[start:end]),
                    document=doc.id,
                    title=doc.title,
                    section=SECTION_SEPARATOR.join(section.path),
                    text=doc.text[start:end],
                    start=start,
                    end=end,
                    page=doc.page_at(start),
                    source=doc.source,
                    date=doc.date,
                    position=len(chunks),
                    language=doc.language or "en",
                )
            )
    return chunks


def _pack(sentences: list[Span], size: int, overlap: int) -> list[list[Span]]:
    groups: list[list[Span]] = []
    current: list[Span] = []
    fresh = 0  # sentences in ``current`` that are not overlap from the previous chunk
    for sentence in sentences:
        length = sentence.end - (current[0].start if current else sentence.start)
        if current and fresh and length > size:
            groups.append(current)
            current = current[-overlap:] if overlap and len(current) > overlap else []
            fresh = 0
            if current and sentence.end - current[0].start > size:
                current = []  # overlap plus this sentence would not fit: start clean
        current.append(sentence)
        fresh += 1
    if current and fresh:
        groups.append(current)
    return groups


def chunk_id(document: str, start: int, end: int, text: str) -> str:
    """Stable id from the document id, position and content."""
    digest = hashlib.sha1(f"{document}\x1f{start}\x1f{end}\x1f{text}".encode()).hexdigest()
    return digest[:16]
