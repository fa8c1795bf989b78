"""The widget's routes: ``GET /widget.js``, the embed page ``GET /embed`` (+ its script and style)
and the message catalogues ``GET /i18n/{lang}.json``.

``/embed`` is rendered in the page's language (``?lang=``, else ``Accept-Language``): its HTML
template (``static/embed.html``) marks messages as ``{{ t("English") }}``, which are replaced by
their translations, and carries the language's catalogue as JSON for ``embed.js``. ``widget.js``
runs on the city's page and fetches its few messages from ``/i18n/{lang}.json``.
"""

import html
import json
import re
from importlib.resources import files
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..config import Settings
from ..i18n import NATIVE_NAMES, messages, negotiate, supported, translate
from ..text import LANGUAGES

STATIC = {
    "widget.js": "text/javascript; charset=utf-8",
    "embed.js": "text/javascript; charset=utf-8",
    "embed.css": "text/css; charset=utf-8",
    "embed.html": "text/html; charset=utf-8",
    "admin.html": "text/html; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}
#: A message in an HTML template: ``{{ t("New conversation") }}``.
TEMPLATE_MESSAGE = re.compile(r'\{\{\s*t\("((?:[^"\\]|\\.)*)"\)\s*\}\}')
_CACHED = {"Cache-Control": "public, max-age=300"}


def static_file(name: str) -> bytes:
    """A file of ``static/`` as bytes."""
    return files("assistant.web").joinpath("static", name).read_bytes()


def catalogue_json(language: str) -> str:
    """``language``'s catalogue as the pages' scripts receive it: ``{"language", "name",
    "messages": {English id: translation}}`` (no messages for English)."""
    data = {"language": language, "name": NATIVE_NAMES[language], "messages": messages(language)}
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def render_page(template: str, language: str, settings: Settings) -> str:
    """A page (the embed page, the console) in ``language``: its messages translated, its
    catalogue inlined."""

    def message(match: re.Match[str]) -> str:
        return html.escape(translate(language, match.group(1)), quote=True)

    # JSON in a <script type="application/json"> block is data, not run (so the page's CSP
    # allows it); "<" is escaped so that no message can close the block.
    inline = catalogue_json(language).replace("<", "\\u003c")
    return (
        TEMPLATE_MESSAGE.sub(message, template)
        .replace("{{LANG}}", language)
        .replace("{{CATALOGUE}}", inline)
        .replace("{{MAX_QUESTION_CHARS}}", str(settings.max_question_chars))
        .replace("{{MAX_HISTORY}}", str(settings.max_history))
    )


def add_widget_routes(app: FastAPI, settings: Settings, ancestors: str) -> None:
    """``GET /widget.js``, ``/embed`` and its script and style, and ``/i18n/{lang}.json``."""
    embed_csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src 'self' data:; base-uri 'none'; form-action 'none'; {ancestors}"
    )
    template = static_file("embed.html").decode()
    pages = {lang: render_page(template, lang, settings) for lang in LANGUAGES}
    catalogues = {lang: catalogue_json(lang) for lang in LANGUAGES}

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> Response:
        return _file_response("widget.js", _CACHED)

    @app.get("/embed", include_in_schema=False)
    async def embed(request: Request, lang: str = "") -> Response:
        language = negotiate(lang, request.headers.get("accept-language", ""))
        return Response(
            pages[language],
            media_type=STATIC["embed.html"],
            headers={
                "Content-Security-Policy": embed_csp,
                "Cache-Control": "no-cache",
                "Content-Language": language,
                "Vary": "Accept-Language",
            },
        )

    @app.get("/embed/{name}", include_in_schema=False)
    async def embed_asset(name: Literal["embed.js", "embed.css"]) -> Response:
        return _file_response(name, _CACHED)

    @app.get("/i18n/{lang}.json", tags=["status"])
    async def catalogue(lang: str) -> Response:
        """The messages of the chat, the widget and the embed page in ``lang`` (fi, sv, en):
        ``{"language", "name", "messages": {English: translation}}``."""
        if not supported(lang):
            message = f"There is no catalogue for {lang[:20]!r}; the languages are fi, sv and en."
            return JSONResponse({"error": "not_found", "message": message}, 404)
        return Response(
            catalogues[lang], media_type="application/json; charset=utf-8", headers=_CACHED
        )


def _file_response(name: str, headers: dict[str, str]) -> Response:
    return Response(static_file(name), media_type=STATIC[name], headers=headers)
