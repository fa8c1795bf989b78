"""The Gradio chat: ``create_ui(assistant, feedback) -> gr.Blocks`` (never launches itself).

Everything that comes from documents, users or a model is escaped here and rendered as HTML we
generate ourselves: Gradio's sanitiser drops scripts but keeps ``<img src>`` and the like.
"""

import html
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import AssistantError

log = logging.getLogger(__name__)

TITLE = "Espoo Sustainability Assistant"
INTRO = (
    "Ask about the City of Espoo's climate and sustainability work. Every answer quotes the city's "
    "documents and links to its sources, so you can check it."
)
EXAMPLES = (
    "What is Espoo's carbon neutrality goal?",
    "How is Espoo replacing coal in district heating?",
    "What is the Jokeri light rail?",
    "How does Espoo protect the Baltic Sea?",
)
#: Answers computed at once by the chat; more wait in Gradio's queue (see ``max_queue``).
DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_QUEUE = 64
_MARKER = re.compile(r"\[(\d{1,3})\]")


# --- rendering: every dynamic value goes through html.escape -------------------------------------


def _text(value: str) -> str:
    """Escaped, on one line (a blank line would end Gradio's raw-HTML block)."""
    return html.escape(" ".join(str(value).split()))


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


def render_question(question: str) -> str:
    return f'<div class="esa-question">{_text(question)}</div>'


def render_partial(text: str) -> str:
    """An answer while it streams in."""
    return f'<div class="esa-answer esa-partial"><p>{_text(text)}</p></div>'


def render_answer(answer: dict[str, Any]) -> str:
    """An answer (``Answer.to_dict()``) with its sources as cards."""
    body = _MARKER.sub(r'<sup class="esa-ref">[\1]</sup>', _text(answer["answer"]))
    parts = [f'<div class="esa-answer"><p>{body}</p>']
    if answer.get("note"):
        parts.append(f'<p class="esa-note">{_text(answer["note"])}</p>')
    if answer["citations"]:
        parts.append('<div class="esa-sources"><p class="esa-sources-title">Sources</p><ol>')
        parts.extend(_card(c) for c in answer["citations"])
        parts.append("</ol></div>")
    parts.append("</div>")
    return "".join(parts)


def _card(c: dict[str, Any]) -> str:
    meta = [c.get("date") or "undated"]
    if c.get("section"):
        meta.append(c["section"])
    if c.get("page"):
        meta.append(f"page {int(c['page'])}")
    href = safe_url(c.get("source", ""), c.get("page"))
    if href:
        link = (
            f'<a class="esa-link" href="{html.escape(href, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">Open source: {_text(c.get("title") or href)}</a>'
        )
    else:
        link = f'<span class="esa-link">{_text(c.get("source") or c.get("document", ""))}</span>'
    return (
        f'<li class="esa-card"><p class="esa-card-title"><span class="esa-n">{int(c["n"])}</span> '
        f"{_text(c.get('title') or c.get('document', ''))}</p>"
        f'<p class="esa-meta">{" · ".join(_text(m) for m in meta)}</p>'
        f'<blockquote class="esa-passage">{highlight(c.get("text", ""), c.get("quotes", ()))}'
        f"</blockquote>{link}</li>"
    )


def render_about(version: Any, topics: Sequence[str]) -> str:
    """What the assistant covers and how current its documents are."""
    docs = version.manifest.documents.values()
    dates = sorted(d["date"] for d in docs if d.get("date"))
    built = str(version.manifest.built_at or "")[:16].replace("T", " ")
    covered = ", ".join(_text(t) for t in topics) or "Espoo's sustainability work"
    newest = f" The newest is from {_text(dates[-1])}." if dates else ""
    return (
        f'<div class="esa-about"><p>The assistant answers from {len(version.manifest.documents)} '
        f"documents published by the City of Espoo and its partners ({len(version)} passages)."
        f"{newest} Topics include: {covered}.</p>"
        f"<p>Index {_text(version.name)}, last updated {_text(built)}. It quotes the documents and "
        "does not guess: when they do not answer a question it says so. It is not an official "
        "decision or advice; check the linked sources.</p></div>"
    )


# --- feedback ----------------------------------------------------------------------------------


class FeedbackStore:
    """Thumbs up/down and comments, with the question, answer and citations, in a SQLite file."""

    _SCHEMA = """CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, rating TEXT, comment TEXT NOT NULL,
        question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
        index_version TEXT)"""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any], rating: str | None, comment: str = "") -> None:
        """Store feedback on ``record`` ({"question", "answer": Answer.to_dict()})."""
        answer = record["answer"]
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            rating,
            comment.strip()[:2000],
            record["question"],
            answer["answer"],
            json.dumps(answer["citations"], ensure_ascii=False),
            answer.get("index_version", ""),
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path)) as db, db:
                db.execute(self._SCHEMA)
                db.execute(
                    "INSERT INTO feedback (created_at, rating, comment, question, answer,"
                    " citations, index_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with closing(sqlite3.connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]


# --- the Blocks ----------------------------------------------------------------------------------


def create_ui(
    assistant: Any,
    feedback: FeedbackStore,
    *,
    rate_limit: Callable[[str], int | None] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> Any:
    """The chat as ``gr.Blocks``, queued for ``concurrency`` answers at once (never launched)."""
    import gradio as gr

    from ..answer.assistant import covered_topics

    max_history = assistant.settings.max_history

    def respond(
        question: str,
        messages: list[dict[str, str]],
        turns: list[dict[str, str]],
        records: list[dict[str, Any]],
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        question = (question or "").strip()
        if not question:
            yield messages, messages, "", turns, records
            return
        messages = [
            *messages,
            {"role": "user", "content": render_question(question)},
            {"role": "assistant", "content": render_partial("…")},
        ]
        wait = rate_limit(_client(request)) if rate_limit else None
        if wait is not None:
            messages[-1]["content"] = render_partial(
                f"You are asking very quickly. Please wait {wait} seconds and try again."
            )
            yield messages, messages, question, turns, records
            return
        yield messages, messages, "", turns, records
        text = ""
        try:
            for item in assistant.stream(question, turns[-max_history:]):
                if isinstance(item, str):
                    text += item
                    messages[-1]["content"] = render_partial(text)
                    yield messages, messages, "", turns, records
                    continue
                data = item.to_dict()
                messages[-1]["content"] = render_answer(data)
                turns = [
                    *turns,
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": item.text},
                ]
                records = [
                    *records,
                    {"index": len(messages) - 1, "question": question, "answer": data},
                ]
        except AssistantError as exc:
            messages[-1]["content"] = render_partial(str(exc))
        except Exception:
            log.exception("chat answer failed")
            messages[-1]["content"] = render_partial(
                "Something went wrong on our side. Please try again in a moment."
            )
        yield messages, messages, "", turns, records

    def rate_last(rating: str, comment: str, records: list[dict[str, Any]]) -> tuple[str, str]:
        if not records:
            return "Ask a question first, then tell us what you think of the answer.", comment
        feedback.add(records[-1], rating, comment)
        return "Thank you! Your feedback was saved with the question and its answer.", ""

    def rate_message(records: list[dict[str, Any]], data: gr.LikeData) -> str:
        record = next((r for r in records if r["index"] == data.index), None)
        if record is None:
            return ""
        liked = data.liked is True
        feedback.add(record, "up" if liked else "down")
        return f"Thank you! Your rating ({'helpful' if liked else 'not helpful'}) was saved."

    def about() -> str:
        version = assistant.version
        return render_about(version, covered_topics(version, limit=8))

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=False) as demo:
        gr.HTML(
            f'<header class="esa-header"><p class="esa-city">City of Espoo</p>'
            f"<h1>{TITLE}</h1><p>{html.escape(INTRO)}</p></header>"
        )
        messages = gr.State([])
        turns = gr.State([])
        records = gr.State([])
        chatbot = gr.Chatbot(
            label="Conversation",
            show_label=False,
            elem_id="esa-chat",
            height="min(60vh, 560px)",
            latex_delimiters=[],
            line_breaks=False,
            buttons=["copy"],
            autoscroll=True,
            placeholder="Answers appear here, with their sources under them.",
        )
        with gr.Row(elem_id="esa-ask-row"):
            box = gr.Textbox(
                label="Your question",
                placeholder="Ask about Espoo's sustainability work",
                max_length=assistant.settings.max_question_chars,
                max_lines=4,
                scale=5,
                elem_id="esa-question",
                autofocus=False,
                submit_btn=False,
            )
            ask = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="esa-ask")
        with gr.Row(elem_id="esa-examples"):
            gr.HTML('<p class="esa-examples-title">Try asking:</p>')
            example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
        with gr.Row():
            clear = gr.Button("Clear conversation", variant="secondary", elem_id="esa-clear")
        with gr.Accordion("Was the last answer helpful?", open=False, elem_id="esa-feedback"):
            comment = gr.Textbox(label="Comment (optional)", max_length=2000, lines=2)
            with gr.Row():
                up = gr.Button("👍 Helpful", elem_id="esa-up")
                down = gr.Button("👎 Not helpful", elem_id="esa-down")
            thanks = gr.Markdown(elem_id="esa-feedback-status")
        with gr.Accordion("About this assistant", open=False, elem_id="esa-about"):
            about_html = gr.HTML()

        inputs, outputs = [messages, turns, records], [chatbot, messages, box, turns, records]
        for trigger in (box.submit, ask.click):
            trigger(respond, [box, *inputs], outputs, concurrency_limit=concurrency)
        for button in example_buttons:
            button.click(respond, [button, *inputs], outputs, concurrency_limit=concurrency)
        clear.click(lambda: ([], [], "", [], []), None, outputs, queue=False)
        chatbot.clear(lambda: ([], [], []), None, [messages, turns, records], queue=False)
        up.click(lambda c, r: rate_last("up", c, r), [comment, records], [thanks, comment])
        down.click(lambda c, r: rate_last("down", c, r), [comment, records], [thanks, comment])
        chatbot.like(rate_message, records, thanks)
        demo.load(about, None, about_html)
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue, api_open=False)
    return demo


def _client(request: Any) -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"
