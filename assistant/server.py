"""One process: the JSON API and widget (``api``) with the Gradio chat (``ui``) mounted at ``/``.

``create_app(settings, assistant)`` assembles the app; ``run_server(settings)`` loads the assistant
and serves it with uvicorn (``espoo-assistant serve``, ``make run`` and ``python app.py``).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from .api import ClientRateLimiter, create_api
from .config import Settings
from .errors import IndexError_
from .ui import FeedbackStore, create_ui

log = logging.getLogger("uvicorn.error")  # uvicorn prints this logger at INFO

FEEDBACK_FILE = "feedback.sqlite"


def feedback_path(settings: Settings) -> Path:
    """Where chat feedback is stored: ``<index folder>/feedback.sqlite`` (git-ignored)."""
    return settings.index / FEEDBACK_FILE


def public_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def create_app(
    settings: Settings, assistant: Any, *, watch: bool = False, catch_up: bool = False
) -> FastAPI:
    """The FastAPI app: API, widget, embed page, and the Gradio chat at ``/``."""
    import gradio as gr

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from .live import start_live

        watcher = start_live(settings, assistant, watch=watch, catch_up=watch or catch_up)
        app.state.live = watcher
        url = public_url(settings)
        log.info(
            "Espoo Sustainability Assistant: chat %s/  API docs %s/docs  widget %s/widget.js",
            url,
            url,
            url,
        )
        try:
            yield
        finally:
            watcher.stop()

    limiter = ClientRateLimiter(settings.rate_limit)
    app = create_api(assistant, settings, lifespan=lifespan, limiter=limiter)
    demo = create_ui(
        assistant, FeedbackStore(feedback_path(settings)), rate_limit=limiter.retry_after
    )
    css = files("assistant").joinpath("static", "chat.css").read_text(encoding="utf-8")
    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        footer_links=[],
        run_history=False,
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        css=css,
        theme=_theme(gr),
        server_name=settings.host,
        server_port=settings.port,
    )


def _theme(gr: Any) -> Any:
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
    from .factory import build_from_settings, terminal_progress

    report = build_from_settings(settings, full=full, progress=terminal_progress)
    log.info(
        "Built index %s: %d documents, %d chunks", report.version, report.documents, report.chunks
    )


def run_server(settings: Settings, *, watch: bool = False) -> None:
    """Load the assistant and serve the app on ``settings.host``:``settings.port`` until stopped."""
    import uvicorn

    from .factory import create_assistant
    from .live import load_best_version

    # Importing Gradio takes seconds of start-up; let it overlap loading the index and model.
    gradio = threading.Thread(target=importlib.import_module, args=("gradio",), daemon=True)
    gradio.start()
    version, problem = load_best_version(settings)
    if version is None:  # nothing servable: build in the foreground first
        log.warning("%s; building the index before serving.", problem)
        _build_now(settings, full=True)
        version, problem = load_best_version(settings)
        if version is None:
            raise IndexError_(problem)
    elif problem:
        log.warning("Serving an older index version while rebuilding: %s", problem)
    assistant = create_assistant(settings, version=version)
    assistant.warm_up()  # load the model and word statistics now, not on the first question
    gradio.join()
    app = create_app(settings, assistant, watch=watch, catch_up=bool(problem))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
