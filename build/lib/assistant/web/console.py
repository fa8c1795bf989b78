"""The editors' console at ``/admin``: one plain HTML page (no Gradio) over the admin API.

Signing in posts the token once (``POST /admin/session``); the server answers with an HttpOnly,
SameSite=Strict session cookie (never readable by scripts, never in localStorage) and the
session's CSRF token, which the page sends back as ``X-CSRF-Token`` on every request that
changes something. The page's messages come from the same catalogue as the chat's (``?lang=`` or
the browser's Accept-Language). Without ``ASSISTANT_ADMIN_TOKEN`` the console is absent (404).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..config import Settings
from ..text import LANGUAGES
from .admin import SESSION_COOKIE, SESSION_SECONDS, AdminError, Gate
from .widget import STATIC, render_page, static_file

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_NO_STORE = {"Cache-Control": "no-store"}


class SignIn(BaseModel):
    token: str = Field(max_length=500)


def add_console_routes(app: FastAPI, settings: Settings) -> None:
    """``GET /admin`` (the page, its script and style) and ``/admin/session``."""
    template = static_file("admin.html").decode()
    pages = {lang: render_page(template, lang, settings) for lang in LANGUAGES}

    def gate() -> Gate:
        found: Gate = app.state.admin_gate
        if not found.token:
            raise AdminError(404, "The admin console is disabled; set ASSISTANT_ADMIN_TOKEN.")
        return found

    @app.get("/admin", include_in_schema=False)
    async def console(request: Request, lang: str = "") -> Response:
        from ..i18n import negotiate

        gate()
        language = negotiate(lang, request.headers.get("accept-language", ""))
        headers = {"Content-Security-Policy": _CSP, "Content-Language": language, **_NO_STORE}
        return Response(pages[language], media_type=STATIC["admin.html"], headers=headers)

    @app.get("/admin/assets/{name}", include_in_schema=False)
    async def asset(name: Literal["admin.js", "admin.css"]) -> Response:
        gate()
        return Response(static_file(name), media_type=STATIC[name], headers=_NO_STORE)

    @app.post("/admin/session", tags=["admin"])
    async def sign_in(body: SignIn, request: Request) -> JSONResponse:
        """Sign in to the console with the admin token: an HttpOnly, SameSite=Strict session
        cookie and the session's CSRF token (send it as ``X-CSRF-Token`` when writing)."""
        doors = gate()
        if not doors.allowed(request):
            raise AdminError(429, "Too many failed sign-ins; wait a minute and try again.")
        if not doors.matches(body.token.strip()):
            doors.failed(request)
            raise AdminError(401, "That is not the admin token.")
        session, csrf = doors.open_session()
        response = JSONResponse({"signed_in": True, "csrf": csrf}, headers=_NO_STORE)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.get("/admin/session", tags=["admin"])
    async def session(request: Request) -> dict[str, Any]:
        """Whether this browser's console session is live, and its CSRF token."""
        csrf = gate().session_csrf(request)
        return {"signed_in": bool(csrf), "csrf": csrf}

    @app.delete("/admin/session", tags=["admin"])
    async def sign_out(request: Request) -> JSONResponse:
        """End the console session."""
        gate().close_session(request)
        response = JSONResponse({"signed_in": False}, headers=_NO_STORE)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response
