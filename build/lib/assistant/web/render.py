"""The Gradio chat's HTML: the header with its language switch, answers with compact source cards,
and the about panel, each in the interface language (``i18n.translate``).

Everything that comes from documents, users or a model is escaped here and rendered as HTML we
generate ourselves: Gradio's sanitiser drops scripts but keeps ``<img src>`` and the like.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..i18n import N_, NATIVE_NAMES, translate
from ..text import LANGUAGES, MARKER

if TYPE_CHECKING:
    from ..index.store import IndexVersion

TITLE = N_("Espoo Sustainability Assistant")
INTRO = N_(
    "Ask about the City of Espoo's climate and sustainability work. Every answer quotes the city's "
    "documents and links to its sources, so you can check it."
)

#: Gradio's own labels of the chat's controls, in English whatever the page's language (Gradio
#: follows the browser's): ``static/chat.js`` relabels them from the header's ``data-labels``.
GRADIO_LABELS = (
    N_("Clear"),
    N_("Copy message"),
    N_("Copied message"),
    N_("Like"),
    N_("Dislike"),
    N_("Liked"),
    N_("Disliked"),
    N_("Scroll down"),
)


def _text(value: object) -> str:
    """Escaped, on one line (a blank line would end Gradio's raw-HTML block)."""
    return html.escape(" ".join(str(value).split()))


def _lang(code: object, page: str) -> str:
    """A ``lang`` attribute for text in another language than the page's (WCAG 3.1.2)."""
    return f' lang="{code}"' if code in LANGUAGES and code != page else ""


def safe_url(url: str, page: int | None = None) -> str | None:
    """``url`` if it is http(s); for a PDF with a page, ``#page=N`` is added."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if page and parts.path.lower().endswith(".pdf") and not parts.fragment:
        url = f"{url}#page={int(page)}"
    return url


def highlight(passage: str, quotes: Sequence[str]) -> str:
    """The passage, escaped, with each quoted sentence inside ``<mark>``."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        start = passage.find(quote) if quote else -1
        if start >= 0:
            spans.append((start, start + len(quote)))
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(_text(passage[pos:start]))
        out.append(f"<mark>{_text(passage[start:end])}</mark>")
        pos = end
    out.append(_text(passage[pos:]))
    return " ".join(p for p in out if p)


def render_header(language: str, *, chosen: bool = True) -> str:
    """The page's heading, introduction and language switch (links that reload the page).
    Once the session's language is ``chosen``, the header tells it to ``static/chat.js`` (which
    sets ``<html lang>`` and the document's title from it)."""
    links = "".join(
        f'<li><a href="?lang={code}" lang="{code}" hreflang="{code}"'
        + (' aria-current="true"' if code == language else "")
        + f">{NATIVE_NAMES[code]}</a></li>"
        for code in ("fi", "sv", "en")
    )
    title = _text(translate(language, TITLE))
    log = _text(translate(language, "Conversation"))
    labels = json.dumps({m: translate(language, m) for m in GRADIO_LABELS}, ensure_ascii=False)
    data = (
        f' data-lang="{language}" data-title="{title}" data-log="{log}"'
        f' data-labels="{html.escape(labels, quote=True)}"'
        if chosen
        else ""
    )
    return (
        f'<header class="esa-header"{data}><div class="esa-top">'
        f'<p class="esa-city">{_text(translate(language, "City of Espoo"))}</p>'
        f'<nav class="esa-langs" aria-label="{_text(translate(language, "Language"))}">'
        f"<ul>{links}</ul></nav></div>"
        f"<h1>{title}</h1>"
        f"<p>{_text(translate(language, INTRO))}</p></header>"
    )


def render_question(question: str) -> str:
    return f'<div class="esa-question">{_text(question)}</div>'


def render_partial(text: str) -> str:
    """An answer while it streams in (or a message in its place)."""
    return f'<div class="esa-answer esa-partial"><p>{_text(text)}</p></div>'


def render_answer(answer: dict[str, Any], language: str) -> str:
    """An answer (``Answer.to_dict()``) with its sources as compact cards."""
    body = MARKER.sub(r'<sup class="esa-ref">[\1]</sup>', _text(answer["answer"]))
    parts = [f'<div class="esa-answer"><p class="esa-text">{body}</p>']
    if answer.get("note"):
        parts.append(f'<p class="esa-note">{_text(answer["note"])}</p>')
    if answer["citations"]:
        parts.append(
            '<div class="esa-sources"><p class="esa-sources-title">'
            f"{_text(translate(language, 'Sources'))}</p><ol>"
        )
        parts.extend(_card(c, language) for c in answer["citations"])
        parts.append("</ol></div>")
    parts.append("</div>")
    return "".join(parts)


def _card(c: dict[str, Any], language: str) -> str:
    """A source: its number and title, date and the quoted sentences; the whole passage behind a
    ``<details>`` (keyboard-operable), and a link to the original."""
    meta = [c.get("date") or translate(language, "undated")]
    if c.get("section"):
        meta.append(c["section"])
    if c.get("page"):
        meta.append(translate(language, "page {page}", page=int(c["page"])))
    own = _lang(c.get("language"), language)
    title = c.get("title") or c.get("document", "")
    href = safe_url(c.get("source", ""), c.get("page"))
    if href:
        opener = translate(language, "Open source: {title}", title=c.get("title") or href)
        link = (
            f'<a class="esa-link" href="{html.escape(href, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{_text(opener)}</a>'
        )
    else:
        link = f'<span class="esa-link">{_text(c.get("source") or c.get("document", ""))}</span>'
    quotes = [q for q in c.get("quotes", ()) if q] or [_shortened(c.get("text", ""))]
    return (
        f'<li class="esa-card"><p class="esa-card-title"><span class="esa-n">{int(c["n"])}</span> '
        f"<span{own}>{_text(title)}</span></p>"
        f'<p class="esa-meta">{" · ".join(_text(m) for m in meta)}</p>'
        f'<p class="esa-quote"{own}>{_text(" … ".join(quotes))}</p>'
        f'<details class="esa-more"><summary>{_text(translate(language, "Show the passage"))}'
        f'</summary><blockquote class="esa-passage"{own}>'
        f"{highlight(c.get('text', ''), c.get('quotes', ()))}</blockquote></details>{link}</li>"
    )


def _shortened(passage: str, limit: int = 200) -> str:
    words = " ".join(passage.split())
    return words if len(words) <= limit else words[:limit].rsplit(" ", 1)[0] + " …"


def render_about(
    version: IndexVersion, topics: Sequence[str], language: str, *, log_days: int = 0
) -> str:
    """What the assistant covers, how current its documents are, and what it keeps of the
    questions (``log_days``: the question log's retention; 0 when it is off)."""
    docs = version.manifest.documents.values()
    dates = sorted(d["date"] for d in docs if d.get("date"))
    built = str(version.manifest.built_at or "")[:16].replace("T", " ")
    covered = ", ".join(topics) or translate(language, "Espoo's sustainability work")
    first = [
        translate(
            language,
            "The assistant answers from {documents} documents published by the City of Espoo and "
            "its partners ({passages} passages).",
            documents=len(version.manifest.documents),
            passages=len(version),
        )
    ]
    if dates:
        first.append(translate(language, "The newest is from {date}.", date=dates[-1]))
    first.append(translate(language, "Topics include: {topics}.", topics=covered))
    second = [
        translate(
            language, "Index {version}, last updated {built}.", version=version.name, built=built
        ),
        translate(
            language,
            "It quotes the documents and does not guess: when they do not answer a question it "
            "says so.",
        ),
        translate(
            language, "Its answers are not official decisions or advice; check the linked sources."
        ),
    ]
    if log_days > 0:
        privacy = translate(
            language,
            "Privacy: the questions asked here are kept for {days} days, with nothing about who "
            "asked (no IP address, cookie or browser details), so that the city sees what its "
            "documents do not answer yet. A rating or comment you give is kept with the answer "
            "it rates.",
            days=log_days,
        )
    else:
        privacy = translate(
            language,
            "Privacy: the questions asked here are not stored. A rating or comment you give is "
            "kept with the answer it rates, with nothing about who gave it.",
        )
    return (
        f'<div class="esa-about"><p>{_text(" ".join(first))}</p>'
        f"<p>{_text(' '.join(second))}</p><p>{_text(privacy)}</p></div>"
    )
