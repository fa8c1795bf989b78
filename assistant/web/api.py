"""The JSON API, the widget and its embed page: ``create_api(assistant, settings) -> FastAPI``.

Routes: ``POST /api/ask``, ``POST /api/ask/stream`` (server-sent events), ``GET /api/health``,
``GET /widget.js``, ``GET /embed`` (+ its script and style). Browser access is limited to the
allowed origins (CORS and ``frame-ancestors``); request size, question length, history length and
the per-client request rate are limited with clear JSON errors; errors never carry a traceback.
"""

import hmac
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from importlib.resources import files
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ..config import Settings
from ..errors import AssistantError, EmbeddingError, GenerationError, IndexError_
from .middleware import BodyLimitMiddleware, SecurityHeadersMiddleware

log = logging.getLogger(__name__)

#: Largest request body accepted by ``/api/*`` (a question, and a history of ``max_history`` turns).
DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: Longest single history message (answers quoted back by the client).
MAX_HISTORY_MESSAGE_CHARS = 8000
_STATUS = {IndexError_: 503, EmbeddingError: 503, GenerationError: 502}
_GENERIC = "Something went wrong on our side. Please try again in a moment."
_STATIC = {
    "widget.js": "text/javascript; charset=utf-8",
    "embed.js": "text/javascript; charset=utf-8",
    "embed.css": "text/css; charset=utf-8",
    "embed.html": "text/html; charset=utf-8",
}


class RateLimited(Exception):
    """A client asked more often than the rate limit allows."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


class ClientRateLimiter:
    """``settings.rate_limit`` (e.g. ``"30/minute"``) per client address, as a moving window."""

    def __init__(self, rate_limit: str) -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.item = parse(rate_limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, client: str) -> int | None:
        """Count one request by ``client``; None if allowed, else the seconds until it would be."""
        if self._limiter.hit(self.item, "ask", client):
            return None
        reset = self._limiter.get_window_stats(self.item, "ask", client).reset_time
        return max(1, math.ceil(reset - time.time()))


class AdminError(Exception):
    """A refused admin request: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_HISTORY_MESSAGE_CHARS)


def _ask_model(settings: Settings) -> type[BaseModel]:
    """The request body, with the limits of ``settings``."""
    max_chars, max_history = settings.max_question_chars, settings.max_history

    class AskRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")

        question: str = Field(description=f"The question, at most {max_chars} characters.")
        history: list[HistoryMessage] = Field(
            default_factory=list, description=f"The conversation so far, at most {max_history}."
        )

        @field_validator("question")
        @classmethod
        def _question(cls, value: str) -> str:
            if not value.strip():
                raise ValueError("Please type a question.")
            if len(value) > max_chars:
                raise ValueError(
                    f"The question is too long ({len(value)} characters); "
                    f"please keep it under {max_chars} characters."
                )
            return value

        @field_validator("history")
        @classmethod
        def _history(cls, value: list[HistoryMessage]) -> list[HistoryMessage]:
            if len(value) > max_history:
                raise ValueError(
                    f"The conversation history is too long ({len(value)} messages); "
                    f"send at most the last {max_history}."
                )
            return value

    return AskRequest


def _answer_json(answer: Any) -> dict[str, Any]:
    """``Answer.to_dict()``: ``ask --json``, plus each citation's ``chunk_id``."""
    return answer.to_dict()  # type: ignore[no-any-return]


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _static(name: str) -> bytes:
    return files("assistant.web").joinpath("static", name).read_bytes()


def frame_ancestors(origins: tuple[str, ...]) -> str:
    """The CSP ``frame-ancestors`` directive for the allowed origins."""
    if "*" in origins:
        return "frame-ancestors *"
    return " ".join(("frame-ancestors", "'self'", *origins))


def create_api(
    assistant: Any,
    settings: Settings,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    limiter: ClientRateLimiter | None = None,
) -> FastAPI:
    """The FastAPI app with the JSON routes, the widget and the embed page (no Gradio)."""
    app = FastAPI(
        title="Espoo Sustainability Assistant",
        version="1",
        lifespan=lifespan,
        description="Answers about Espoo's sustainability work, with citations.",
    )
    limiter = limiter or ClientRateLimiter(settings.rate_limit)
    AskRequest = _ask_model(settings)  # noqa: N806 - a class
    ancestors = frame_ancestors(settings.allowed_origins)
    embed_csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src 'self' data:; base-uri 'none'; form-action 'none'; {ancestors}"
    )
    embed_page = (
        _static("embed.html")
        .decode()
        .replace("{{MAX_QUESTION_CHARS}}", str(settings.max_question_chars))
        .replace("{{MAX_HISTORY}}", str(settings.max_history))
    )

    async def rate_limit(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        wait = limiter.retry_after(client)
        if wait is not None:
            raise RateLimited(wait)

    limited = [Depends(rate_limit)]

    @app.post("/api/ask", dependencies=limited, tags=["ask"])
    async def ask(body: AskRequest) -> dict[str, Any]:  # type: ignore[valid-type]
        """Answer a question; the same object as ``espoo-assistant ask --json``."""
        history = [m.model_dump() for m in body.history]  # type: ignore[attr-defined]
        answer = await run_in_threadpool(assistant.ask, body.question, history)  # type: ignore[attr-defined]
        return _answer_json(answer)

    @app.post(
        "/api/ask/stream",
        dependencies=limited,
        tags=["ask"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def ask_stream(body: AskRequest) -> StreamingResponse:  # type: ignore[valid-type]
        """Server-sent events: ``delta`` {"text"} pieces, then ``done`` or ``error``."""
        history = [m.model_dump() for m in body.history]  # type: ignore[attr-defined]
        pieces = assistant.stream(body.question, history)  # type: ignore[attr-defined]
        return StreamingResponse(
            _events(pieces),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

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
        chat = getattr(request.app.state, "chat", None)  # the Gradio page: starting, ready, failed
        if chat is not None:
            data["chat"] = chat
        return data

    @app.post("/api/admin/reindex", status_code=202, tags=["admin"])
    async def reindex(request: Request, full: bool = False) -> dict[str, Any]:
        """Schedule a rebuild of the index (``Authorization: Bearer $ASSISTANT_ADMIN_TOKEN``)."""
        if not settings.admin_token:
            raise AdminError(404, "The admin API is disabled; set ASSISTANT_ADMIN_TOKEN to use it.")
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
            raise AdminError(401, "A valid admin token is required (Authorization: Bearer …).")
        live = getattr(request.app.state, "live", None)
        if live is None:
            raise AdminError(409, "This app was created without a background builder.")
        live.request_build(full=full, reason="admin request")
        return {"status": "accepted", "message": "A rebuild of the index was scheduled."}

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> Response:
        return _file_response("widget.js", {"Cache-Control": "public, max-age=300"})

    @app.get("/embed", include_in_schema=False)
    async def embed() -> Response:
        return Response(
            embed_page,
            media_type=_STATIC["embed.html"],
            headers={"Content-Security-Policy": embed_csp, "Cache-Control": "no-cache"},
        )

    @app.get("/embed/{name}", include_in_schema=False)
    async def embed_asset(name: Literal["embed.js", "embed.css"]) -> Response:
        return _file_response(name, {"Cache-Control": "public, max-age=300"})

    _install_error_handlers(app)
    # Added innermost first: CORS is outermost so that even 413 and 429 carry its headers.
    app.add_middleware(BodyLimitMiddleware, max_bytes=DEFAULT_MAX_BODY_BYTES, prefix="/api/")
    app.add_middleware(SecurityHeadersMiddleware, frame_ancestors=ancestors)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    return app


def _file_response(name: str, headers: dict[str, str]) -> Response:
    return Response(_static(name), media_type=_STATIC[name], headers=headers)


async def _events(pieces: Iterator[Any]) -> AsyncIterator[str]:
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
        yield _sse("error", {"message": _GENERIC})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": str(e.get("msg", "")).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "Invalid request."}
        message = first["message"]
        if first["field"] and not message.startswith(("The ", "Please")):
            message = f"{first['field']}: {message}"
        return JSONResponse({"error": "invalid_request", "message": message, "errors": errors}, 422)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(
            {
                "error": "rate_limited",
                "retry_after": exc.retry_after,
                "message": f"Too many questions at once. Please wait {exc.retry_after} seconds "
                "and try again.",
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
        return JSONResponse({"error": "internal", "message": _GENERIC}, 500)
