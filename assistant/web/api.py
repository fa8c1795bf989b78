"""The JSON API, the widget and its embed page: ``create_api(assistant, settings) -> FastAPI``.

Routes: ``POST /api/ask``, ``POST /api/ask/stream`` (server-sent events), ``GET /api/health``,
and the widget's (``widget``: ``/widget.js``, ``/embed``, ``/i18n/{lang}.json``). Browser access is
limited to the allowed origins (CORS and ``frame-ancestors``); request size, question length,
history length and the per-client request rate are limited with clear JSON errors; errors never
carry a traceback. A question may say its interface ``language`` (fi, sv, en), which is passed to
the assistant; the people-facing ``message`` of an error is in that language, else in the one of
``Accept-Language``, else in English.
"""

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ..config import Settings
from ..errors import AssistantError, EmbeddingError, GenerationError, IndexError_
from ..i18n import N_, negotiate, translate
from ..text import LANGUAGES
from .admin import AdminError, add_admin_routes
from .console import add_console_routes
from .database import Database
from .feedback import FeedbackStore, add_feedback_route
from .middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from .questionlog import LoggingService, QuestionLog
from .ratelimit import ClientRateLimiter, RateLimited
from .widget import add_widget_routes

if TYPE_CHECKING:  # the answer stage loads numpy and BM25; serving the API starts without them
    from ..answer.answers import Answer
    from ..answer.protocol import AnswerService

log = logging.getLogger(__name__)

#: Largest request body accepted by ``/api/*`` (a question, and a history of ``max_history`` turns).
DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: Longest single history message (answers quoted back by the client).
MAX_HISTORY_MESSAGE_CHARS = 8000
_STATUS = {IndexError_: 503, EmbeddingError: 503, GenerationError: 502}
_GENERIC = N_("Something went wrong on our side. Please try again in a moment.")
_INVALID = N_("Invalid request.")


class Invalid(ValueError):
    """A request value refused with a message for people: an English message id and its values,
    which the error handler translates into the request's language."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message, self.values = message, values


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_HISTORY_MESSAGE_CHARS)


def _checked_question(value: str, max_chars: int) -> str:
    if not value.strip():
        raise Invalid(N_("Please type a question."))
    if len(value) > max_chars:
        raise Invalid(
            N_(
                "The question is too long ({length} characters); please keep it under {limit} "
                "characters."
            ),
            length=len(value),
            limit=max_chars,
        )
    return value


def _checked_history(value: list[HistoryMessage], max_history: int) -> list[HistoryMessage]:
    if len(value) > max_history:
        raise Invalid(
            N_(
                "The conversation history is too long ({length} messages); send at most the last "
                "{limit}."
            ),
            length=len(value),
            limit=max_history,
        )
    return value


def _checked_language(value: str) -> str:
    if value and value not in LANGUAGES:
        raise Invalid(N_("The language must be fi, sv or en (or left out)."))
    return value


def request_language(body: object, accept_language: str) -> str:
    """The language of a request's messages: its body's ``language`` when that is one of ours,
    else the first of ``Accept-Language``'s, else English."""
    asked = body.get("language") if isinstance(body, dict) else None
    return negotiate(asked if isinstance(asked, str) else "", accept_language)


def _answer_json(answer: "Answer") -> dict[str, Any]:
    """``Answer.to_dict()``: ``ask --json``, plus each citation's ``chunk_id``."""
    return answer.to_dict()


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def frame_ancestors(origins: tuple[str, ...]) -> str:
    """The CSP ``frame-ancestors`` directive for the allowed origins."""
    if "*" in origins:
        return "frame-ancestors *"
    return " ".join(("frame-ancestors", "'self'", *origins))


def create_api(
    assistant: "AnswerService",
    settings: Settings,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    limiter: ClientRateLimiter | None = None,
    question_log: QuestionLog | None = None,
    feedback: FeedbackStore | None = None,
) -> FastAPI:
    """The FastAPI app with the JSON routes, the widget and the embed page (no Gradio); with a
    ``question_log``, every answer is logged (``app.state.answers`` is the logging service the
    chat uses too). Feedback goes to ``feedback`` (by default the settings' database)."""
    app = FastAPI(
        title="Espoo Sustainability Assistant",
        version="1",
        lifespan=lifespan,
        description="Answers about Espoo's sustainability work, with citations.",
    )
    limiter = limiter or ClientRateLimiter(settings.rate_limit, settings.rate_limit_storage)
    app.state.question_log = question_log
    app.state.feedback = feedback or FeedbackStore(Database.from_settings(settings))
    if question_log is not None:
        assistant = LoggingService(assistant, question_log)
    app.state.answers = assistant
    ancestors = frame_ancestors(settings.allowed_origins)
    limited = rate_limited(limiter)
    _add_ask_routes(app, assistant, settings, limited)
    add_feedback_route(app, settings, limited)
    _add_status_routes(app, assistant, settings)
    add_admin_routes(app, settings, assistant)
    add_console_routes(app, settings)
    add_widget_routes(app, settings, ancestors)
    _install_error_handlers(app)
    # Added innermost first: CORS is outermost so that even 413 and 429 carry its headers.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=DEFAULT_MAX_BODY_BYTES,
        prefix=("/api/", "/admin/"),
        exempt=("/api/admin/documents/",),
    )
    app.add_middleware(SecurityHeadersMiddleware, frame_ancestors=ancestors)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Accept-Language"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    return app


def rate_limited(limiter: ClientRateLimiter) -> list[Any]:
    """The dependency of every route a resident may call too often: 429 with Retry-After, in the
    language of the request."""

    async def rate_limit(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        wait = limiter.retry_after(client)
        if wait is not None:
            try:  # the body is read already (and small): its language, for the message
                body = json.loads(await request.body())
            except ValueError:
                body = None
            language = request_language(body, request.headers.get("accept-language", ""))
            raise RateLimited(wait, language)

    return [Depends(rate_limit)]


def _add_ask_routes(
    app: FastAPI, assistant: "AnswerService", settings: Settings, limited: list[Any]
) -> None:
    """``POST /api/ask`` and ``/api/ask/stream``: rate-limited per client, with a request body
    that has the limits of ``settings`` (built here, so that the routes can name it as a type)."""
    max_chars, max_history = settings.max_question_chars, settings.max_history

    # FastAPI reads the routes' annotations when they are added, so this module does without
    # ``from __future__ import annotations``: a string could not name this local class.
    class AskRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")

        question: str = Field(description=f"The question, at most {max_chars} characters.")
        history: list[HistoryMessage] = Field(
            default_factory=list, description=f"The conversation so far, at most {max_history}."
        )
        language: str = Field(
            default="",
            description="The asker's interface language: fi, sv or en (left out: unknown). "
            "Passed to the assistant; error messages are in it.",
        )

        @field_validator("question")
        @classmethod
        def _question(cls, value: str) -> str:
            return _checked_question(value, max_chars)

        @field_validator("history")
        @classmethod
        def _history(cls, value: list[HistoryMessage]) -> list[HistoryMessage]:
            return _checked_history(value, max_history)

        @field_validator("language")
        @classmethod
        def _language(cls, value: str) -> str:
            return _checked_language(value)

    @app.post("/api/ask", dependencies=limited, tags=["ask"])
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question; the same object as ``espoo-assistant ask --json``."""
        history = [m.model_dump() for m in body.history]
        answer = await run_in_threadpool(
            assistant.ask, body.question, history, language=body.language
        )
        return _answer_json(answer)

    @app.post(
        "/api/ask/stream",
        dependencies=limited,
        tags=["ask"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def ask_stream(body: AskRequest) -> StreamingResponse:
        """Server-sent events: ``delta`` {"text"} pieces, then ``done`` or ``error``."""
        history = [m.model_dump() for m in body.history]
        pieces = assistant.stream(body.question, history, language=body.language)
        return StreamingResponse(
            _events(pieces, body.language or "en"),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _add_status_routes(app: FastAPI, assistant: "AnswerService", settings: Settings) -> None:
    """``GET /api/health`` and ``POST /api/admin/reindex``."""

    @app.get("/api/health", tags=["status"])
    async def health(request: Request) -> dict[str, Any]:
        """The live index: documents, chunks, version and embedding model (and live rebuilds,
        and whether the chat page is up yet)."""
        version = assistant.version
        data: dict[str, Any] = {
            "status": "ok",
            "documents": len(version.manifest.documents),
            "chunks": len(version),
            "index_version": version.name,
            "model": version.manifest.model,
            "last_build": version.manifest.built_at,
            "skipped": version.manifest.skipped,
        }
        live = getattr(request.app.state, "live", None)  # the background builder
        if live is not None and hasattr(live, "state"):
            data["build"] = live.state.to_dict()
        follower = getattr(request.app.state, "follower", None)  # a replica (serve --follow)
        if follower is not None:
            data["follow"] = follower.state.to_dict()
        chat = getattr(request.app.state, "chat", None)  # the Gradio page: starting, ready, failed
        if chat is not None:
            data["chat"] = chat
        return data

    @app.post("/api/admin/reindex", status_code=202, tags=["admin"])
    async def reindex(request: Request, full: bool = False) -> dict[str, Any]:
        """Schedule a rebuild of the index (``Authorization: Bearer $ASSISTANT_ADMIN_TOKEN``)."""
        request.app.state.admin_gate.check(request)
        live = getattr(request.app.state, "live", None)
        if live is None:
            raise AdminError(409, "This app was created without a background builder.")
        number = live.request_build(full=full, reason="admin request")
        return {
            "status": "accepted",
            "message": "A rebuild of the index was scheduled.",
            "build": number,
        }


async def _events(pieces: "Iterator[str | Answer]", language: str) -> AsyncIterator[str]:
    """Serialise ``Assistant.stream`` as SSE; the blocking generator runs in the threadpool."""
    try:
        async for item in iterate_in_threadpool(pieces):
            if isinstance(item, str):
                yield _sse("delta", {"text": item})
            else:
                yield _sse("done", _answer_json(item))
    except AssistantError as exc:
        yield _sse("error", {"message": str(exc)})
    except Exception:
        log.exception("answer stream failed")
        yield _sse("error", {"message": translate(language, _GENERIC)})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        language = request_language(exc.body, request.headers.get("accept-language", ""))
        refused = [_field_error(e, language) for e in exc.errors()]
        errors = [error for error, _ in refused]
        message = translate(language, _INVALID)
        if refused:
            first, ours = refused[0]
            message = first["message"]
            if first["field"] and not ours:  # pydantic's own words: say which field
                message = f"{first['field']}: {message}"
        return JSONResponse({"error": "invalid_request", "message": message, "errors": errors}, 422)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        message = N_("Too many questions at once. Please wait {seconds} seconds and try again.")
        return JSONResponse(
            {
                "error": "rate_limited",
                "retry_after": exc.retry_after,
                "message": translate(exc.language, message, seconds=exc.retry_after),
            },
            429,
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(AdminError)
    async def admin_error(request: Request, exc: AdminError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": "admin", "message": str(exc)}, exc.status, headers=headers)

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
        return JSONResponse({"error": "assistant_error", "message": str(exc)}, status)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        language = negotiate("", request.headers.get("accept-language", ""))
        return JSONResponse({"error": "internal", "message": translate(language, _GENERIC)}, 500)


def _field_error(error: Any, language: str) -> tuple[dict[str, str], bool]:
    """One refused field: its dotted name and message, and whether the message is ours (an
    ``Invalid``, translated) rather than pydantic's (English)."""
    field = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Invalid):
        return {"field": field, "message": translate(language, cause.message, **cause.values)}, True
    return {"field": field, "message": str(error.get("msg", ""))}, False
