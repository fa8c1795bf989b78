"""The admin API for editors: list, upload, replace and delete documents; follow their builds.

Every route needs ``Authorization: Bearer $ASSISTANT_ADMIN_TOKEN`` (compared in constant time);
without a configured token the routes answer 404, as if absent. Failed sign-ins are rate-limited
per client. An upload is checked before anything is written: a plain file name with a supported
extension, at most ``ASSISTANT_MAX_UPLOAD`` bytes, and a file the ingest step can read (a corrupt
PDF or an empty text is refused with the reason). It is then written atomically (a hidden
temporary file in ``documents/``, renamed into place) and the incremental build is scheduled.
"""

from __future__ import annotations

import csv
import hmac
import io
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from ..config import Settings
from ..ingest.documents import UnreadableDocument, file_hash, load_document, scan_folder
from .feedback import FeedbackStore
from .questionlog import content_gaps

if TYPE_CHECKING:
    from .live import LiveIndex

#: File types an editor may upload (the ingest step reads more; these are the ones to publish).
UPLOAD_SUFFIXES = (".md", ".txt", ".html", ".htm", ".pdf")
#: A plain file name: letters, digits, spaces, dots, dashes and underscores; no leading dot.
_NAME = re.compile(r"[\w][\w .-]{0,150}", re.UNICODE)
#: Failed sign-ins allowed per client before 429.
FAILED_SIGN_INS = "10/minute"


class AdminError(Exception):
    """A refused admin request: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


#: What a replica answers for a document change: no build of its own; the builder watching the
#: shared documents folder publishes the next index version, and the replica swaps to it.
BY_BUILDER = {"build": None, "build_url": None, "published_by": "builder"}

#: The console's session cookie (HttpOnly, SameSite=Strict) and its lifetime.
SESSION_COOKIE = "esa_admin"
SESSION_SECONDS = 8 * 3600
#: The header a console request that changes something must carry (the session's CSRF token).
CSRF_HEADER = "x-csrf-token"


class Gate:
    """Who may use the admin routes: a request with the token (``Authorization: Bearer``), or
    one from a console session (its cookie, plus its CSRF token on a request that writes).
    Failed attempts are counted per client; over the budget, 429."""

    def __init__(self, settings: Settings) -> None:
        self.token = settings.admin_token
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._item = parse(FAILED_SIGN_INS)
        self._sessions: dict[str, tuple[str, float]] = {}  # id -> (CSRF token, expiry)

    def check(self, request: Request) -> None:
        """Let the request through, or raise AdminError (404 disabled, 401, 403, 429)."""
        if not self.token:
            raise AdminError(404, "The admin API is disabled; set ASSISTANT_ADMIN_TOKEN to use it.")
        client = request.client.host if request.client else "unknown"
        if not self._limiter.test(self._item, "admin", client):
            raise AdminError(429, "Too many failed sign-ins; wait a minute and try again.")
        header = request.headers.get("authorization", "")
        if not header and request.cookies.get(SESSION_COOKIE):
            self._check_session(request, client)
            return
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not self.matches(given.strip()):
            self._limiter.hit(self._item, "admin", client)
            raise AdminError(401, "A valid admin token is required (Authorization: Bearer …).")

    def matches(self, token: str) -> bool:
        """Whether ``token`` is the admin token (constant time)."""
        return bool(self.token) and hmac.compare_digest(token.encode(), self.token.encode())

    def allowed(self, request: Request) -> bool:
        """Whether the client still has failed attempts left."""
        client = request.client.host if request.client else "unknown"
        return bool(self._limiter.test(self._item, "admin", client))

    def failed(self, request: Request) -> None:
        """Count a failed sign-in of the console."""
        client = request.client.host if request.client else "unknown"
        self._limiter.hit(self._item, "admin", client)

    def open_session(self) -> tuple[str, str]:
        """A new console session: its id (the cookie) and its CSRF token."""
        now = time.time()
        self._sessions = {k: v for k, v in self._sessions.items() if v[1] > now}
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._sessions[session] = (csrf, now + SESSION_SECONDS)
        return session, csrf

    def session_csrf(self, request: Request) -> str:
        """The CSRF token of the request's live session ("" when it has none)."""
        found = self._sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        return found[0] if found and found[1] > time.time() else ""

    def close_session(self, request: Request) -> None:
        self._sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)

    def _check_session(self, request: Request, client: str) -> None:
        csrf = self.session_csrf(request)
        if not csrf:
            self._limiter.hit(self._item, "admin", client)
            raise AdminError(401, "The console session has ended; sign in again.")
        if request.method not in ("GET", "HEAD") and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, "").encode(), csrf.encode()
        ):
            raise AdminError(403, "The request lacks the console's CSRF token; reload the page.")


def checked_name(name: str) -> str:
    """``name`` if it is a plain file name of a supported type; else an AdminError (400)."""
    suffix = Path(name).suffix.lower()
    if (
        "/" in name
        or "\\" in name
        or ".." in name
        or name.startswith(".")
        or not _NAME.fullmatch(name)
    ):
        raise AdminError(
            400,
            f"{name!r} is not a plain file name: use letters, digits, spaces, dots, dashes and "
            "underscores, with no folder and no leading dot.",
        )
    if suffix not in UPLOAD_SUFFIXES:
        allowed = ", ".join(UPLOAD_SUFFIXES)
        raise AdminError(415, f"{name!r}: upload one of these file types: {allowed}.")
    return name


def readable(name: str, data: bytes) -> None:
    """Parse ``data`` as the file ``name`` would be parsed; an AdminError (422) says why not."""
    with tempfile.TemporaryDirectory(prefix="espoo-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            load_document(path, name)
        except UnreadableDocument as exc:
            raise AdminError(422, f"{name} cannot be used: {exc}. Nothing was changed.") from exc


def write_atomically(folder: Path, name: str, data: bytes) -> None:
    """Write ``folder/name`` so that readers see the old file or the new one, never a part."""
    handle, temporary = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def document_list(settings: Settings, manifest: Any) -> list[dict[str, Any]]:
    """Every document of the folder (and every indexed one) with its status."""
    scan = scan_folder(settings.documents)
    indexed: dict[str, dict[str, Any]] = manifest.documents
    skipped = {s["path"]: s["reason"] for s in manifest.skipped}
    skipped.update({s.path: s.reason for s in scan.skipped})
    rows = []
    for name in sorted(set(scan.files) | set(indexed) | set(skipped)):
        entry = indexed.get(name, {})
        if name in skipped:
            status = "skipped"
        elif name in indexed and scan.hashes.get(name) == entry.get("hash"):
            status = "indexed"
        else:
            status = "pending"  # new, changed or deleted since the live version was built
        row = {
            "name": name,
            "title": entry.get("title", ""),
            "language": entry.get("language", ""),
            "date": entry.get("date", ""),
            "source": entry.get("source", ""),
            "chunks": entry.get("chunks", 0) if status == "indexed" else 0,
            "status": status,
            "present": name in scan.files,
        }
        if status == "skipped":
            row["reason"] = skipped[name]
        rows.append(row)
    return rows


def feedback_csv(rows: list[dict[str, Any]]) -> str:
    """Feedback rows as CSV (the cited documents' titles in one column); a leading BOM so that
    spreadsheet programs read the Finnish and Swedish letters right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["created_at", "rating", "comment", "question", "answer", "sources"])
    for row in rows:
        cited = [c for c in row["citations"] if isinstance(c, dict)]
        sources = "; ".join(str(c.get("title", "")) for c in cited)
        cells = [row["created_at"], row["rating"] or "", row["comment"], row["question"]]
        writer.writerow([*cells, row["answer"], sources])
    return "\ufeff" + out.getvalue()


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AdminError(413, f"The file is larger than the upload limit of {limit:,} bytes.")
    data = bytearray()
    async for piece in request.stream():
        data += piece
        if len(data) > limit:
            raise AdminError(413, f"The file is larger than the upload limit of {limit:,} bytes.")
    return bytes(data)


def add_admin_routes(app: FastAPI, settings: Settings, assistant: Any) -> None:
    """The ``/api/admin/`` routes (documents and builds; ``/reindex`` is in ``api.py``)."""
    gate = Gate(settings)
    app.state.admin_gate = gate

    def live_of(request: Request) -> LiveIndex | None:
        """The app's builder, or None on a replica (``serve --follow``): there a document change
        is only written to the shared documents folder, and the builder publishes it."""
        return getattr(request.app.state, "live", None)

    @app.get("/api/admin/documents", tags=["admin"])
    async def documents(request: Request) -> dict[str, Any]:
        """Every document: name, title, language, date, source, chunks, status (indexed,
        pending, skipped) and, when skipped, the reason."""
        gate.check(request)
        version = assistant.version
        return {
            "index_version": version.name,
            "documents": document_list(settings, version.manifest),
        }

    @app.put("/api/admin/documents/{name}", status_code=202, tags=["admin"])
    async def put_document(name: str, request: Request) -> dict[str, Any]:
        """Create or replace a document (the file's bytes as the body); 202 with the build."""
        gate.check(request)
        checked_name(name)
        live = live_of(request)
        data = await _body(request, settings.max_upload)
        readable(name, data)
        target = settings.documents / name
        existed = target.is_file()
        unchanged = existed and file_hash(target.read_bytes()) == file_hash(data)
        if not unchanged:
            write_atomically(settings.documents, name, data)
        if live is None:
            return {
                "status": "accepted",
                "document": name,
                "replaced": existed,
                "unchanged": unchanged,
                **BY_BUILDER,
            }
        reason = f"upload of {name}" + (" (unchanged)" if unchanged else "")
        number = live.request_build(reason=reason)
        return {
            "status": "accepted",
            "document": name,
            "replaced": existed,
            "unchanged": unchanged,
            "build": number,
            "build_url": f"/api/admin/builds/{number}",
        }

    @app.delete("/api/admin/documents/{name}", status_code=202, tags=["admin"])
    async def delete_document(name: str, request: Request) -> dict[str, Any]:
        """Remove a document; 202 with the build that drops its passages."""
        gate.check(request)
        checked_name(name)
        live = live_of(request)
        target = settings.documents / name
        if not target.is_file():
            raise AdminError(404, f"There is no document {name!r}.")
        target.unlink()
        if live is None:
            return {"status": "accepted", "document": name, **BY_BUILDER}
        number = live.request_build(reason=f"deletion of {name}")
        return {"status": "accepted", "document": name, "build": number}

    _add_report_routes(app, settings, gate, live_of)


def _add_report_routes(
    app: FastAPI,
    settings: Settings,
    gate: Gate,
    live_of: Callable[[Request], LiveIndex | None],
) -> None:
    """``/api/admin/questions``, ``/feedback`` and ``/builds/{id}``."""

    @app.get("/api/admin/questions", tags=["admin"])
    async def questions(
        request: Request, refused: bool | None = None, days: int | None = None
    ) -> dict[str, Any]:
        """The questions asked (when the question log is on: ``ASSISTANT_LOG_DAYS`` > 0), newest
        first, with language, refused or not, confidence and cited documents; and the refused
        ones grouped by their topic words, most asked first ("content gaps")."""
        gate.check(request)
        log = getattr(request.app.state, "question_log", None)
        if log is None:
            return {"log": "off", "retention_days": 0, "questions": [], "gaps": []}
        rows = log.questions(days=days, refused=refused)
        gaps = content_gaps(rows if refused is not False else [])
        return {"log": "on", "retention_days": log.days, "questions": rows, "gaps": gaps}

    @app.get("/api/admin/feedback", tags=["admin"], response_model=None)
    async def feedback(request: Request, format: str = "json") -> dict[str, Any] | Response:
        """Thumbs and comments with the question and answer they rate; ``?format=csv`` exports
        them as a spreadsheet file."""
        gate.check(request)
        store: FeedbackStore = request.app.state.feedback
        rows = await run_in_threadpool(store.all)
        if format == "csv":
            return Response(
                feedback_csv(rows),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="feedback.csv"'},
            )
        if format != "json":
            raise AdminError(400, "format must be json or csv.")
        return {"feedback": rows}

    @app.get("/api/admin/builds/{id}", tags=["admin"])
    async def build(id: int, request: Request) -> dict[str, Any]:  # noqa: A002 (the path's name)
        """A build's state (queued, running, done, failed), progress, result and error."""
        gate.check(request)
        live = live_of(request)
        if live is None:
            raise AdminError(409, "A replica runs no builds; the builder publishes the index.")
        found = live.build(id)
        if found is None:
            raise AdminError(404, f"There is no build {id} (the last 50 are kept).")
        return found.to_dict()
