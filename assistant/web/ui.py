"""The Gradio chat: ``create_ui(assistant, feedback) -> gr.Blocks`` (never launches itself).

The page speaks the visitor's language: ``?lang=fi|sv|en``, else the browser's
``Accept-Language`` (``i18n.negotiate``), kept per session in a ``gr.State``. The components are
built with the English message ids and relabelled when the page loads; every message the handlers
show goes through ``i18n.translate``. The HTML of answers and sources is made in ``render``.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AssistantError
from ..i18n import DEFAULT_LANGUAGE, N_, negotiate, translate
from .feedback import FeedbackStore
from .render import (
    TITLE,
    render_about,
    render_answer,
    render_header,
    render_partial,
    render_question,
)

if TYPE_CHECKING:  # gradio takes seconds to import: only a chat that is built loads it
    import gradio as gr

    from ..answer.protocol import AnswerService

log = logging.getLogger(__name__)

EXAMPLES = (
    N_("What is Espoo's carbon neutrality goal?"),
    N_("How is Espoo replacing coal in district heating?"),
    N_("What is the Jokeri light rail?"),
    N_("How does Espoo protect the Baltic Sea?"),
)
_ASK_FIRST = N_("Ask a question first, then tell us what you think of the answer.")
_THANKS = N_("Thank you! Your feedback was saved with the question and its answer.")
_SLOW_DOWN = N_("You are asking very quickly. Please wait {seconds} seconds and try again.")
_FAILED = N_("Something went wrong on our side. Please try again in a moment.")
#: Answers computed at once by the chat; more wait in Gradio's queue (see ``max_queue``).
DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_QUEUE = 64


def create_ui(
    assistant: "AnswerService",
    feedback: FeedbackStore,
    *,
    rate_limit: Callable[[str], int | None] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> "gr.Blocks":
    """The chat as ``gr.Blocks``, queued for ``concurrency`` answers at once (never launched)."""
    import gradio as gr

    respond = _responder(assistant, rate_limit)

    def rate_last(
        rating: str, comment: str, records: list[dict[str, Any]], lang: str
    ) -> tuple[str, str]:
        if not records:
            return translate(lang, _ASK_FIRST), comment
        feedback.add(records[-1], rating, comment)
        return translate(lang, _THANKS), ""

    def rate_message(records: list[dict[str, Any]], lang: str, data: gr.LikeData) -> str:
        record = next((r for r in records if r["index"] == data.index), None)
        if record is None:
            return ""
        if data.liked is True:
            feedback.add(record, "up")
            return translate(lang, "Thank you! Your rating (helpful) was saved.")
        feedback.add(record, "down")
        return translate(lang, "Thank you! Your rating (not helpful) was saved.")

    demo = gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=False)
    with demo:
        chat = _layout(max_question_chars=assistant.settings.max_question_chars)
        state = [chat.messages, chat.turns, chat.records, chat.lang]
        outputs = [chat.chatbot, chat.messages, chat.box, chat.turns, chat.records]
        # one event for Enter and the button: a question asked while an answer is still coming
        # waits in the box and is asked when that answer is complete ("always_last")
        gr.on(
            [chat.box.submit, chat.ask.click],
            respond,
            [chat.box, *state],
            outputs,
            concurrency_limit=concurrency,
            trigger_mode="always_last",
        )
        for button in chat.examples:
            button.click(respond, [button, *state], outputs, concurrency_limit=concurrency)
        chat.clear.click(lambda: ([], [], "", [], []), None, outputs, queue=False)
        chat.chatbot.clear(lambda: ([], [], []), None, state[:3], queue=False)
        rated, thanked = [chat.comment, chat.records, chat.lang], [chat.thanks, chat.comment]
        chat.up.click(lambda c, r, lang: rate_last("up", c, r, lang), rated, thanked)
        chat.down.click(lambda c, r, lang: rate_last("down", c, r, lang), rated, thanked)
        chat.chatbot.like(rate_message, [chat.records, chat.lang], chat.thanks)
        # the header it renders carries the language and title for static/chat.js (<html lang>)
        demo.load(_localizer(assistant), None, chat.localized(), queue=False)
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue, api_open=False)
    return demo


def _localizer(assistant: "AnswerService") -> "Callable[[gr.Request], list[Any]]":
    """The page-load handler: the session's language from ``?lang=`` or ``Accept-Language``,
    and every component's text in it (in the order of ``_Chat.localized``)."""
    import gradio as gr

    from ..answer.topics import covered_topics

    def localize(request: gr.Request) -> list[Any]:
        lang = negotiate(
            request.query_params.get("lang", ""), request.headers.get("accept-language", "")
        )

        def t(message: str) -> str:
            return translate(lang, message)

        version = assistant.version
        topics = covered_topics(version, limit=8, language=lang)
        return [
            lang,
            render_header(lang),
            gr.Chatbot(
                label=t("Conversation"),
                placeholder=t("Answers appear here, with their sources under them."),
            ),
            gr.Textbox(
                label=t("Your question"), placeholder=t("Ask about Espoo's sustainability work")
            ),
            gr.Button(t("Ask")),
            f'<p class="esa-examples-title">{t("Try asking:")}</p>',
            *(gr.Button(t(q)) for q in EXAMPLES),
            gr.Button(t("Clear conversation")),
            gr.Accordion(label=t("Was the last answer helpful?")),
            gr.Textbox(label=t("Comment (optional)")),
            gr.Button(t("👍 Helpful")),
            gr.Button(t("👎 Not helpful")),
            gr.Accordion(label=t("About this assistant")),
            render_about(version, topics, lang, log_days=assistant.settings.log_days),
        ]

    return localize


def _responder(
    assistant: "AnswerService", rate_limit: Callable[[str], int | None] | None
) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """The handler of a question: it shows the question, then the answer as it streams in, then
    the answer with its sources (or, in the answer's place, why there is none)."""
    import gradio as gr

    max_history = assistant.settings.max_history

    def respond(
        question: str,
        messages: list[dict[str, str]],
        turns: list[dict[str, str]],
        records: list[dict[str, Any]],
        lang: str,
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
            messages[-1]["content"] = render_partial(translate(lang, _SLOW_DOWN, seconds=wait))
            yield messages, messages, question, turns, records
            return
        yield messages, messages, "", turns, records
        text = ""
        try:
            for item in assistant.stream(question, turns[-max_history:], language=lang):
                if isinstance(item, str):
                    text += item
                    messages[-1]["content"] = render_partial(text)
                    yield messages, messages, gr.skip(), turns, records
                    continue
                data = item.to_dict()
                messages[-1]["content"] = render_answer(data, lang)
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
            messages[-1]["content"] = render_partial(translate(lang, _FAILED))
        # the box was emptied when the question was taken: what is typed in it since stays
        yield messages, messages, gr.skip(), turns, records

    return respond


@dataclass(frozen=True)
class _Chat:
    """The components of the chat page that events read or write."""

    lang: "gr.State"
    header: "gr.HTML"
    messages: "gr.State"
    turns: "gr.State"
    records: "gr.State"
    chatbot: "gr.Chatbot"
    box: "gr.Textbox"
    ask: "gr.Button"
    examples_title: "gr.HTML"
    examples: "list[gr.Button]"
    clear: "gr.Button"
    feedback: "gr.Accordion"
    comment: "gr.Textbox"
    up: "gr.Button"
    down: "gr.Button"
    thanks: "gr.Markdown"
    about_panel: "gr.Accordion"
    about: "gr.HTML"

    def localized(self) -> list[Any]:
        """The session's language and every component with text, in ``_localizer``'s order."""
        return [
            self.lang,
            self.header,
            self.chatbot,
            self.box,
            self.ask,
            self.examples_title,
            *self.examples,
            self.clear,
            self.feedback,
            self.comment,
            self.up,
            self.down,
            self.about_panel,
            self.about,
        ]


def _layout(*, max_question_chars: int) -> _Chat:
    """The page, top to bottom (inside the ``gr.Blocks`` being built), in English until the
    page-load handler relabels it in the session's language."""
    import gradio as gr

    header = gr.HTML(render_header(DEFAULT_LANGUAGE, chosen=False))
    lang = gr.State(DEFAULT_LANGUAGE)
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
        autoscroll=False,  # static/chat.js scrolls: to the start of each answer, not its end
        placeholder="Answers appear here, with their sources under them.",
    )
    with gr.Row(elem_id="esa-ask-row"):
        box = gr.Textbox(
            label="Your question",
            placeholder="Ask about Espoo's sustainability work",
            max_length=max_question_chars,
            max_lines=4,
            scale=5,
            elem_id="esa-question",
            autofocus=False,
            submit_btn=False,
        )
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="esa-ask")
    with gr.Row(elem_id="esa-examples"):
        examples_title = gr.HTML('<p class="esa-examples-title">Try asking:</p>')
        examples = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
    with gr.Row():
        clear = gr.Button("Clear conversation", variant="secondary", elem_id="esa-clear")
    with gr.Accordion("Was the last answer helpful?", open=False, elem_id="esa-feedback") as fb:
        comment = gr.Textbox(label="Comment (optional)", max_length=2000, lines=2)
        with gr.Row():
            up = gr.Button("👍 Helpful", elem_id="esa-up")
            down = gr.Button("👎 Not helpful", elem_id="esa-down")
        thanks = gr.Markdown(elem_id="esa-feedback-status")
    with gr.Accordion("About this assistant", open=False, elem_id="esa-about") as about_panel:
        about = gr.HTML()
    return _Chat(
        lang=lang,
        header=header,
        messages=messages,
        turns=turns,
        records=records,
        chatbot=chatbot,
        box=box,
        ask=ask,
        examples_title=examples_title,
        examples=examples,
        clear=clear,
        feedback=fb,
        comment=comment,
        up=up,
        down=down,
        thanks=thanks,
        about_panel=about_panel,
        about=about,
    )


def _client(request: "gr.Request") -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"
