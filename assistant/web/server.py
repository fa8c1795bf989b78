"""One process: the JSON API and widget (``api``) with the Gradio chat (``ui``) mounted at ``/``.

``create_app(settings, assistant)`` assembles the app; ``run_server(settings)`` loads the assistant
and serves it with uvicorn (``espoo-assistant serve``, ``make run`` and ``python app.py``). The
server answers on the API as soon as the index and model are loaded; the chat page, whose Gradio
import alone takes seconds, is built in the background and replaces a "starting" page.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.resources import files
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.routing import Mount

from ..config import Settings
from ..errors import IndexError_
from ..i18n import N_, negotiate, translate
from .api import create_api
from .database import Database, shown
from .feedback import FeedbackStore
from .questionlog import QuestionLog
from .ratelimit import ClientRateLimiter
from .render import TITLE
from .ui import create_ui

if TYPE_CHECKING:  # loaded when they are used: the answer stage by run_server, gradio in the chat
    from gradio.routes import App as GradioApp
    from gradio.themes import Base

    from ..answer.assistant import Assistant
    from ..answer.protocol import AnswerService

log = logging.getLogger("uvicorn.error")  # uvicorn prints this logger at INFO

_STARTING = N_(
    "The chat is starting and this page will reload in a moment. The {api} already answers."
)
_FAILED = N_(
    "The chat page could not start; the server log says why. The {api} and the widget still answer."
)


def public_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def create_app(
    settings: Settings,
    assistant: Assistant,
    *,
    watch: bool = False,
    catch_up: bool = False,
    chat_later: bool = False,
    follow: bool = False,
) -> FastAPI:
    """The FastAPI app: API, widget, embed page, and the Gradio chat at ``/``.

    With ``chat_later`` the API answers as soon as the server is up and the chat page follows
    when Gradio has been imported and built (seconds later); until then ``/`` says it is starting.
    With ``follow`` it never builds: it serves what a builder publishes (``follow.py``).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from .follow import Follower
        from .live import start_live

        watcher: Any
        if follow:
            watcher = Follower(settings, assistant)
            app.state.follower = watcher
        else:
            watcher = start_live(settings, assistant, watch=watch, catch_up=watch or catch_up)
            app.state.live = watcher
        url = public_url(settings)
        log.info(
            "Espoo Sustainability Assistant: chat %s/  API docs %s/docs  widget %s/widget.js",
            url,
            url,
            url,
        )
        async with AsyncExitStack() as stack:
            chat = None
            if chat_later:
                chat = asyncio.create_task(_start_chat(app, stack, settings, assistant, limiter))
            try:
                yield
            finally:
                if chat is not None:
                    chat.cancel()
                watcher.stop()
                database.dispose()

    limiter = ClientRateLimiter(settings.rate_limit, settings.rate_limit_storage)
    database = Database.from_settings(settings)
    database.engine  # noqa: B018 - open and migrate it now: a wrong URL stops start-up here
    if follow and database.is_sqlite:
        log.warning(
            "This replica keeps feedback and the question log in SQLite (%s); replicas on "
            "several machines should share one PostgreSQL: set ASSISTANT_DATABASE_URL.",
            shown(database.url),
        )
    questions = QuestionLog(database, settings.log_days) if settings.log_days else None
    feedback = FeedbackStore(database)
    app = create_api(
        assistant,
        settings,
        lifespan=lifespan,
        limiter=limiter,
        question_log=questions,
        feedback=feedback,
    )
    if chat_later:
        app.state.chat = "starting"
        app.add_api_route("/", _chat_starting, methods=["GET"], include_in_schema=False)
        return app
    app.state.chat = "ready"
    return _mount_chat(app, settings, assistant, limiter)


def _mount_chat(
    app: FastAPI, settings: Settings, assistant: AnswerService, limiter: ClientRateLimiter
) -> FastAPI:
    """Build the Gradio chat and mount it at ``/`` (after the API's routes, which keep priority)."""
    import gradio as gr

    answers = getattr(app.state, "answers", assistant)  # the logging service, when logging
    demo = create_ui(answers, app.state.feedback, rate_limit=limiter.retry_after)
    static = files("assistant.web").joinpath("static")
    css = static.joinpath("chat.css").read_text(encoding="utf-8")
    script = static.joinpath("chat.js").read_text(encoding="utf-8")
    mounted: FastAPI = gr.mount_gradio_app(  # gradio's @document() decorator hides the type
        app,
        demo,
        path="/",
        footer_links=[],
        run_history=False,
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        css=css,
        head=f"<script>{script}</script>",
        theme=_theme(),
        server_name=settings.host,
        server_port=settings.port,
    )
    return mounted


async def _start_chat(
    app: FastAPI,
    stack: AsyncExitStack,
    settings: Settings,
    assistant: AnswerService,
    limiter: ClientRateLimiter,
) -> None:
    """Import and build the chat off the event loop, start it on the loop, then replace the
    "starting" page with it. A failure leaves the API and widget serving."""
    try:
        await asyncio.to_thread(_mount_chat, app, settings, assistant, limiter)
        mount = next(r for r in reversed(app.router.routes) if isinstance(r, Mount))
        chat = cast("GradioApp", mount.app)  # the app gr.mount_gradio_app mounted
        await stack.enter_async_context(chat.router.lifespan_context(chat))
        blocks = chat.get_blocks()
        blocks.run_startup_events()
        await blocks.run_extra_startup_events()
        starting = [r for r in app.router.routes if getattr(r, "endpoint", None) is _chat_starting]
        for route in starting:
            app.router.routes.remove(route)
        app.state.chat = "ready"
        log.info("The chat page is ready.")
    except asyncio.CancelledError:
        raise
    except Exception:
        app.state.chat = "failed"
        log.exception("The chat page could not start; the API and the widget keep answering.")


async def _chat_starting(request: Request) -> HTMLResponse:
    """``/`` while the chat is being built: a page that reloads itself (or, if the build
    failed, says so and where answers are still to be had), in the visitor's language."""
    lang = negotiate(
        request.query_params.get("lang", ""), request.headers.get("accept-language", "")
    )
    api = "<a href='/docs'>API</a>"
    head = f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
    title = f"<title>{html.escape(translate(lang, TITLE))}</title></head><body><p>"
    if getattr(request.app.state, "chat", "") == "failed":
        text = translate(lang, _FAILED, api=api)
        return HTMLResponse(f"{head}{title}{text}</p></body></html>", status_code=503)
    refresh = "<meta http-equiv='refresh' content='2'>"
    text = translate(lang, _STARTING, api=api)
    return HTMLResponse(
        f"{head}{refresh}{title}{text}</p></body></html>",
        status_code=503,
        headers={"Retry-After": "2"},
    )


def _theme() -> Base:
    import gradio as gr

    # Local fonts only: the default theme would fetch Google Fonts from the visitor's browser.
    # Espoo blue (#0050a0) on white text passes WCAG AA contrast; the default blue does not.
    return gr.themes.Base(
        primary_hue=gr.themes.colors.blue,
        neutral_hue=gr.themes.colors.slate,
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    ).set(
        button_primary_background_fill="#0050a0",
        button_primary_background_fill_hover="#003d7a",
        button_primary_text_color="#ffffff",
        color_accent="#0050a0",
        link_text_color="#0050a0",
        link_text_color_visited="#5a2d82",
    )


def _build_now(settings: Settings, *, full: bool) -> None:
    from ..index.factory import build_from_settings
    from ..index.progress import terminal_progress

    report = build_from_settings(settings, full=full, progress=terminal_progress)
    log.info(
        "Built index %s: %d documents, %d chunks", report.version, report.documents, report.chunks
    )


def run_server(settings: Settings, *, watch: bool = False, follow: bool = False) -> None:
    """Load the assistant and serve the app on ``settings.host``:``settings.port`` until stopped;
    with ``follow`` as a read-only replica of what a builder publishes."""
    import uvicorn

    from ..evaluation.first_start import assistant_for
    from .live import load_best_version

    version, problem = load_best_version(settings)
    if version is None and follow:
        raise IndexError_(
            f"{problem}. A replica (serve --follow) never builds: start the builder "
            "(`espoo-assistant build --watch`) on the same index folder first."
        )
    if version is None:  # nothing servable: build in the foreground first
        log.warning("%s; building the index before serving.", problem)
        _build_now(settings, full=True)
        version, problem = load_best_version(settings)
        if version is None:
            raise IndexError_(problem)
    elif problem:
        log.warning("Serving an older index version while rebuilding: %s", problem)
    assistant = assistant_for(settings, version=version)  # trains a new encoder's scorer first
    assistant.warm_up()  # load the model and word statistics now, not on the first question
    # Importing and building Gradio takes seconds: the API answers first, the chat follows.
    app = create_app(
        settings,
        assistant,
        watch=watch and not follow,
        catch_up=bool(problem) and not follow,
        chat_later=True,
        follow=follow,
    )
    trusted = list(settings.trusted_proxies)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        # X-Forwarded-For names the client only when the request comes from a trusted proxy
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )
