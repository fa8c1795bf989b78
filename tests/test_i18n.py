"""Finnish, Swedish and English: the catalogue, the API's ``language``, and the pages in Chromium.

The fast part checks ``i18n`` (negotiate, translate), that every message id used in the code has
a Finnish and a Swedish translation (collected from the Python code, the web pages' JavaScript and
the embed page's template, and compared with ``assistant/locales/*.po``), the catalogue endpoint,
the embed page and the API's ``language`` field with a stand-in assistant. The browser part runs
the real app (real model and index) in headless Chromium: the language switch, ``?lang=``,
``Accept-Language``, the widget on the example pages, axe-core, and where the chat scrolls.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import web_fixtures as web
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from assistant.answer.conversation import REFUSAL_START
from assistant.config import Settings
from assistant.i18n import NATIVE_NAMES, catalogue, messages, negotiate, translate
from assistant.web.api import create_api

PACKAGE = web.ROOT / "assistant"
LOCALES = PACKAGE / "locales"
STATIC = PACKAGE / "web" / "static"
#: A message in the web pages' JavaScript and the embed page's template: t("English").
JS_MESSAGE = re.compile(r'\bt\("((?:[^"\\]|\\.)*)"')
PLACEHOLDER = re.compile(r"\{(\w*)\}")


# --- collecting the message ids of the code ------------------------------------------------------


def python_messages(path: Path) -> set[str]:
    """``translate(language, "...")``, ``N_("...")`` and a page's shorthand ``t("...")``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        position = {"translate": 1, "N_": 0, "t": 0}.get(name)
        if position is None or len(node.args) <= position:
            continue
        argument = node.args[position]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            found.add(argument.value)
    return found


def script_messages(path: Path) -> set[str]:
    return {json.loads(f'"{m}"') for m in JS_MESSAGE.findall(path.read_text(encoding="utf-8"))}


def code_messages() -> dict[str, set[str]]:
    """Every message id the code uses -> the files that use it."""
    used: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for message in python_messages(path):
            used.setdefault(message, set()).add(str(path.relative_to(web.ROOT)))
    for path in sorted(STATIC.glob("*")):
        if path.suffix in (".js", ".html"):
            for message in script_messages(path):
                used.setdefault(message, set()).add(str(path.relative_to(web.ROOT)))
    return used


def script_message_ids() -> set[str]:
    """The messages of the pages' scripts and the embed template (served as JSON)."""
    return {m for p in STATIC.glob("*") if p.suffix in (".js", ".html") for m in script_messages(p)}


def po_entries(language: str) -> list[tuple[str, str]]:
    from babel.messages.pofile import read_po

    with (LOCALES / f"{language}.po").open("rb") as fh:
        return [(str(m.id), str(m.string)) for m in read_po(fh, locale=language) if m.id]


# --- i18n ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        ("fi", "", "fi"),
        ("sv-FI", "en", "sv"),
        ("SV", "", "sv"),
        ("de", "sv-FI,sv;q=0.9,en;q=0.8", "sv"),
        ("", "de-DE,de;q=0.9,fi;q=0.5,sv;q=0.7", "sv"),
        ("", "en-GB,en;q=0.9", "en"),
        ("", "fi;q=0,sv;q=0.1", "sv"),
        ("", "da, *;q=0.1", "en"),
        ("", "fi;q=oops,sv", "sv"),
        ("", "", "en"),
    ],
    ids=["fi", "sv-FI", "upper-case", "unknown-then-header", "by-quality", "english",
         "q0-is-never", "none-supported", "bad-q", "nothing"],
)  # fmt: skip
def test_negotiate(requested: str, accept: str, expected: str) -> None:
    assert negotiate(requested, accept) == expected


def test_translate_fills_placeholders_and_falls_back_to_english() -> None:
    wait = "You are asking very quickly. Please wait {seconds} seconds and try again."
    assert translate("fi", wait, seconds=12) == (
        "Kysyt hyvin tiheään. Odota 12 sekuntia ja yritä uudelleen."
    )
    assert translate("sv", "Sources") == "Källor"
    assert translate("en", wait, seconds=3).startswith("You are asking very quickly. Please wait 3")
    assert translate("de", "Sources") == "Sources"  # an unknown language: English
    assert translate("fi", "Not in the catalogue {x}", x=1) == "Not in the catalogue 1"
    assert messages("en") == {} and messages("fi") == catalogue("fi")
    assert set(NATIVE_NAMES) == {"fi", "sv", "en"}


# --- the catalogue is complete -------------------------------------------------------------------


def test_the_code_marks_the_messages_of_every_page() -> None:
    used = code_messages()
    for message in (
        "Espoo Sustainability Assistant",
        "Sources",
        "Show the passage",  # chat
        "Open chat: {title}",
        "Close chat: {title}",  # widget
        "New conversation",
        "Looking for an answer…",  # embed
        "Too many questions at once. Please wait {seconds} seconds and try again.",
    ):
        assert message in used, message
    assert len(used) > 60  # fmt: skip


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_every_message_of_the_code_is_translated(language: str) -> None:
    translations = dict(po_entries(language))
    missing = sorted(f"{m!r} ({', '.join(sorted(files))})" for m, files in code_messages().items()
                     if not translations.get(m, "").strip())  # fmt: skip
    assert not missing, f"add to assistant/locales/{language}.po:\n" + "\n".join(missing)


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_translations_keep_their_placeholders_and_are_not_english(language: str) -> None:
    entries = po_entries(language)
    ids = [m for m, _ in entries]
    assert len(ids) == len(set(ids)), "a message id is in the catalogue twice"
    raw = (LOCALES / f"{language}.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in raw.split("\n\n", 1)[1], "a fuzzy entry is not used: review it"
    for message, translation in entries:
        assert translation.strip(), f"empty translation of {message!r}"
        placeholders = sorted(PLACEHOLDER.findall(message))
        assert sorted(PLACEHOLDER.findall(translation)) == placeholders, message
    identical = [m for m, t in entries if m == t and len(m.split()) > 2]
    assert not identical, f"copied, not translated: {identical}"


def test_espoo_is_esbo_in_swedish() -> None:
    for message, translation in po_entries("sv"):
        assert "Espoo" not in translation, (message, translation)


# --- the catalogue endpoint and the embed page ---------------------------------------------------


class Echo:
    """A stand-in assistant that answers with the language it was given (no model, no index)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.languages: list[str] = []

    @property
    def version(self) -> Any:
        raise AssertionError("not needed here")

    def ask(self, question: str, history: Any = (), *, language: str = "") -> Any:
        self.languages.append(language)
        return _Answer(language)

    def stream(self, question: str, history: Any = (), *, language: str = "") -> Iterator[Any]:
        self.languages.append(language)
        yield "Hei. "
        yield _Answer(language)


@dataclass(frozen=True)
class _Answer:
    language: str

    def to_dict(self) -> dict[str, Any]:
        return {"answer": "Hei.", "refused": False, "citations": [], "language": self.language}


@pytest.fixture
def echo() -> Echo:
    return Echo(Settings(rate_limit="1000/minute"))


@pytest.fixture
def client(echo: Echo) -> Iterator[TestClient]:
    with TestClient(create_api(echo, echo.settings)) as http:  # type: ignore[arg-type]
        yield http


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_catalogue_endpoint_serves_every_message_of_the_pages(
    client: TestClient, language: str
) -> None:
    response = client.get(f"/i18n/{language}.json")
    assert response.status_code == 200 and "max-age" in response.headers["cache-control"]
    data = response.json()
    assert (data["language"], data["name"]) == (language, NATIVE_NAMES[language])
    translations = dict(po_entries(language))
    needed = script_message_ids()
    assert needed and {m: data["messages"].get(m) for m in needed} == {
        m: translations[m] for m in needed
    }


def test_the_english_catalogue_is_empty_and_others_are_not_found(client: TestClient) -> None:
    assert client.get("/i18n/en.json").json()["messages"] == {}
    missing = client.get("/i18n/de.json")
    assert missing.status_code == 404 and "fi, sv and en" in missing.json()["message"]


@pytest.mark.parametrize(
    ("query", "accept", "language", "text"),
    [
        ("?lang=sv", "fi", "sv", "Esbos hållbarhetsassistent"),
        ("?lang=fi", "", "fi", "Kysymyksesi"),
        ("", "sv-FI,sv;q=0.9", "sv", "Nytt samtal"),
        ("", "", "en", "New conversation"),
        ("?lang=xx", "de", "en", "Your question"),
    ],
    ids=["lang-sv", "lang-fi", "accept-language", "default", "unknown"],
)
def test_the_embed_page_is_rendered_in_its_language(
    client: TestClient, query: str, accept: str, language: str, text: str
) -> None:
    page = client.get(f"/embed{query}", headers={"Accept-Language": accept} if accept else {})
    assert page.status_code == 200 and page.headers["content-language"] == language
    assert f'<html lang="{language}">' in page.text and text in page.text
    assert "{{" not in page.text
    inline = re.search(r'<script id="esa-i18n" type="application/json">(.*?)</script>', page.text)
    assert inline is not None and json.loads(inline.group(1))["language"] == language
    if language != "en":  # (the catalogue's English ids aside)
        shown = page.text.replace(inline.group(0), "")
        assert "Your question" not in shown and "Ask about Espoo" not in shown


def test_the_starting_page_speaks_the_visitors_language(echo: Echo) -> None:
    from assistant.web.server import create_app

    # without its lifespan running, a chat_later app keeps saying it is starting
    app = create_app(echo.settings, echo, chat_later=True)  # type: ignore[arg-type]
    finnish = TestClient(app).get("/", headers={"Accept-Language": "fi-FI,fi;q=0.9"})
    assert finnish.status_code == 503 and "<html lang='fi'>" in finnish.text
    assert "Keskustelu käynnistyy" in finnish.text and "<a href='/docs'>API</a>" in finnish.text
    swedish = TestClient(app).get("/?lang=sv")
    assert "<html lang='sv'>" in swedish.text and "Chatten startar" in swedish.text


# --- the API's language ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fi", "sv", "en", ""])
def test_ask_passes_the_language_on(client: TestClient, echo: Echo, language: str) -> None:
    body: dict[str, Any] = {"question": "Mikä on Raide-Jokeri?"}
    if language:
        body["language"] = language
    assert client.post("/api/ask", json=body).json()["language"] == language
    stream = client.post("/api/ask/stream", json=body)
    assert web.sse_events(stream)[-1] == ("done", _Answer(language).to_dict())
    assert echo.languages == [language, language]


@pytest.mark.parametrize("language", ["de", "FI", "fi-FI", "suomi"])
def test_another_language_is_refused_with_a_message(client: TestClient, language: str) -> None:
    for path in ("/api/ask", "/api/ask/stream"):
        response = client.post(path, json={"question": "Hello?", "language": language})
        assert response.status_code == 422
        data = response.json()
        # said in the language it is closest to ("fi-FI": Finnish), else in English
        refusal = "The language must be fi, sv or en (or left out)."
        assert data["message"] == translate(negotiate(language), refusal)
        assert data["errors"][0]["field"] == "language"


def test_a_wrong_type_of_language_is_refused(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "Hello?", "language": 3})
    assert response.status_code == 422 and response.json()["message"].startswith("language: ")


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        ({"question": " ", "language": "fi"}, {}, "Kirjoita kysymys."),
        ({"question": " "}, {"Accept-Language": "sv-FI,sv;q=0.9"}, "Skriv en fråga."),
        ({"question": " ", "language": "en"}, {"Accept-Language": "fi"}, "Please type a question."),
        ({"question": " "}, {"Accept-Language": "de"}, "Please type a question."),
        (
            {"question": "x" * 2001, "language": "sv"},
            {},
            "Frågan är för lång (2001 tecken); den får vara högst 2000 tecken.",
        ),
        (
            {"question": "Mitä?", "language": "fi-FI"},
            {},
            "Kielen on oltava fi, sv tai en (tai sen voi jättää pois).",
        ),
    ],
    ids=["body-fi", "header-sv", "body-wins", "unknown-english", "too-long-sv", "bad-language-fi"],
)
def test_validation_messages_are_in_the_request_language(
    client: TestClient, body: dict[str, Any], headers: dict[str, str], message: str
) -> None:
    response = client.post("/api/ask", json=body, headers=headers)
    assert response.status_code == 422 and response.json()["message"] == message


def test_rate_limit_and_size_messages_are_in_the_request_language() -> None:
    echo = Echo(Settings(rate_limit="1/minute"))
    with TestClient(create_api(echo, echo.settings)) as http:  # type: ignore[arg-type]
        assert http.post("/api/ask", json={"question": "Mikä?"}).status_code == 200
        limited = http.post("/api/ask", json={"question": "Mikä?", "language": "fi"})
        assert limited.status_code == 429
        seconds = limited.json()["retry_after"]
        assert limited.json()["message"] == (
            f"Liian monta kysymystä lyhyessä ajassa. Odota {seconds} sekuntia ja yritä uudelleen."
        )
        swedish = http.post("/api/ask", json={"question": "?"}, headers={"Accept-Language": "sv"})
        assert swedish.status_code == 429 and swedish.json()["message"].startswith("För många")
        english = http.post("/api/ask", json={"question": "?"})
        assert english.json()["message"].startswith("Too many questions at once.")
        large = http.post(
            "/api/ask", content=b"x" * 70_000, headers={"Accept-Language": "sv"}
        )  # fmt: skip
        assert large.status_code == 413
        assert large.json()["message"] == "Begäran är för stor (högst 64 KiB)."


# --- the pages in Chromium, against the real app -------------------------------------------------

TIMEOUT = web.BROWSER_TIMEOUT
#: Long answers, so that the conversation scrolls.
LONG_QUESTIONS = (
    "How is Espoo replacing coal in district heating?",
    "How does Espoo protect the Baltic Sea?",
)


@dataclass(frozen=True)
class Site:
    app: str  # the assistant
    pages: str  # the example pages, from an allowed origin


@pytest.fixture(scope="module")
def site(web_corpus: Settings) -> Iterator[Site]:
    from assistant.web.server import create_app

    folder = web.workdir() / "i18n-site"
    folder.mkdir(exist_ok=True)
    with web.static_site(folder) as pages:
        settings = web.built_settings().with_(allowed_origins=(pages,))
        with web.live_server(create_app(settings, web.assistant())) as app:
            for name in ("city-site.html", "city-site-fi.html", "city-site-sv.html"):
                web.example_page(folder, name, app)
            # a page that does not say data-lang: the widget follows its <html lang>
            fi = (folder / "city-site-fi.html").read_text(encoding="utf-8")
            undeclared = fi.replace('<html lang="fi">', '<html lang="fi-FI">')
            (folder / "no-data-lang.html").write_text(undeclared.replace('data-lang="fi"', ""))
            yield Site(app, pages)


def shot(page: Page, name: str) -> None:
    web.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(web.ARTIFACTS / name))


def open_chat(page: Page, url: str, language: str) -> None:
    """Load the chat and wait until the page-load handler has relabelled it in ``language``."""
    page.goto(url)
    settled(page, language)


def settled(page: Page, language: str) -> None:
    """Wait until the chat is relabelled in ``language`` and Gradio has faded it back in (it
    dims a component while an event updates it)."""
    expect(page.locator(f".esa-header[data-lang='{language}']")).to_be_attached()
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.wait_for_function(
        """() => { for (let e = document.querySelector('.esa-header'); e; e = e.parentElement)
                       if (getComputedStyle(e).opacity !== '1') return false;
                   return true; }"""
    )


def visible_words(page: Page, selector: str = "body") -> set[str]:
    text = page.locator(selector).first.inner_text()
    return {w.casefold() for w in re.findall(r"[^\W\d_]+", text)}


def interface_words(language: str) -> set[str]:
    """The words of the chat's own messages in ``language`` (English: the message ids)."""
    ids = python_messages(PACKAGE / "web" / "ui.py") | python_messages(
        PACKAGE / "web" / "render.py"
    )
    texts = ids if language == "en" else {translate(language, m) for m in ids}
    return {w.casefold() for t in texts for w in re.findall(r"[^\W\d_]+", PLACEHOLDER.sub("", t))}


def english_words_not_in(language: str) -> set[str]:
    """The English interface words that ``language``'s messages do not use (one-letter words
    left out: "a" is also a piece of the index version's hash in the about panel)."""
    return {w for w in interface_words("en") - interface_words(language) if len(w) > 1}


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_the_language_switch_changes_every_visible_string(page: Page, site: Site) -> None:
    open_chat(page, site.app, "en")
    switch = page.get_by_role("navigation", name="Language")
    expect(switch.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")
    english = visible_words(page)
    assert {"ask", "your", "question", "conversation"} <= english
    switch.get_by_role("link", name="Suomi").click()  # reloads the page with ?lang=fi
    page.wait_for_url(re.compile(r"\?lang=fi$"))
    settled(page, "fi")
    expect(page).to_have_title("Espoon kestävän kehityksen avustaja")
    expect(page.get_by_role("heading", level=1)).to_have_text("Espoon kestävän kehityksen avustaja")
    expect(page.get_by_label("Kysymyksesi")).to_have_attribute(
        "placeholder", "Kysy Espoon kestävän kehityksen työstä"
    )
    expect(page.get_by_role("button", name="Kysy", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Mikä on Raide-Jokeri?")).to_be_visible()
    page.get_by_text("Tietoa avustajasta").click()  # the about panel, open
    expect(page.locator(".esa-about")).to_contain_text("asiakirjan pohjalta")
    page.get_by_text("Oliko viimeisin vastaus hyödyllinen?").click()
    expect(page.get_by_label("Kommentti (vapaaehtoinen)")).to_be_visible()
    # Not one English word of the interface is left, outside the language switch (each language
    # is named in itself) and the proper nouns; the Finnish ones are all there.
    switch_words = {"suomi", "svenska", "english"}
    nouns = {"espoo", "jokeri", "raide"}
    finnish = visible_words(page, ".gradio-container") - switch_words
    # (one-letter words are left out: "a" is also a piece of the index version's hash)
    english_only = english_words_not_in("fi") - nouns
    assert not finnish & english_only, sorted(finnish & english_only)
    assert {"kysy", "kysymyksesi", "tyhjennä", "keskustelu", "hyödyllinen"} <= finnish
    assert page.locator("#esa-chat [role=log]").get_attribute("aria-label") == "Keskustelu"
    shot(page, "chat-fi.png")
    # the switch works from the keyboard: to "Svenska", Enter
    switch = page.get_by_role("navigation", name="Kieli")
    switch.get_by_role("link", name="Svenska").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?lang=sv$"))
    settled(page, "sv")
    expect(page.get_by_role("button", name="Rensa samtalet")).to_be_visible()
    swedish = visible_words(page, ".gradio-container") - switch_words
    assert not swedish & (english_words_not_in("sv") - nouns)


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_the_chat_follows_accept_language_and_answers_in_the_interface_language(
    browser: Browser, site: Site
) -> None:
    swedish = browser.new_context(locale="sv-FI", viewport={"width": 1100, "height": 900})
    try:
        page = swedish.new_page()
        page.set_default_timeout(TIMEOUT)
        open_chat(page, site.app, "sv")
        expect(page.get_by_role("heading", level=1)).to_have_text("Esbos hållbarhetsassistent")
        page.get_by_role("button", name="Vad är Spårjokern?").click()  # an example question
        answer = page.locator(".esa-answer:not(.esa-partial)").last
        expect(answer.locator(".esa-sources-title")).to_have_text("Källor")
        expect(answer.locator(".esa-card summary").first).to_have_text("Visa hela textavsnittet")
        expect(answer.locator("a.esa-link").first).to_contain_text("Öppna källan: ")
        expect(page.get_by_role("link", name="Svenska")).to_have_attribute("aria-current", "true")
        # Gradio's own controls in Swedish; the rating works and thanks in Swedish
        page.get_by_text("Var det senaste svaret till hjälp?").click()
        page.get_by_role("button", name="Ogilla").first.click()
        expect(page.locator("#esa-feedback-status")).to_contain_text(
            "Tack! Ditt omdöme (inte till hjälp) sparades."
        )
        expect(page.get_by_role("button", name="Kopiera meddelandet").first).to_be_attached()
    finally:
        swedish.close()


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_the_embed_page_in_swedish(page: Page, site: Site) -> None:
    page.goto(f"{site.app}/embed?lang=sv")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page).to_have_title("Esbos hållbarhetsassistent")
    question = page.get_by_label("Din fråga")
    expect(question).to_have_attribute("placeholder", "Fråga om Esbos hållbarhetsarbete")
    expect(page.get_by_role("button", name="Nytt samtal")).to_be_visible()
    expect(page.locator("#esa-greeting")).to_contain_text("Hej! Fråga mig om Esbo stads")
    question.fill("Hur ersätter Esbo kolet i fjärrvärmen?")
    page.get_by_role("button", name="Fråga", exact=True).click()
    answer = page.locator(".answer").last
    expect(answer.locator(".sources-title")).to_have_text("Källor")
    expect(answer.locator(".card summary").first).to_have_text("Visa hela textavsnittet")
    expect(page.locator("#esa-announce")).to_contain_text("Svar: ")
    words = visible_words(page)
    assert not words & {"ask", "your", "question", "sources", "conversation", "answer", "source"}
    shot(page, "embed-sv.png")


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "language"),
    [("/?lang=fi", "fi"), ("/?lang=sv", "sv"), ("/embed?lang=sv", "sv"), ("/embed?lang=fi", "fi")],
    ids=["chat-fi", "chat-sv", "embed-sv", "embed-fi"],
)
def test_the_translated_pages_are_clean_under_axe(
    page: Page, site: Site, path: str, language: str
) -> None:
    if path.startswith("/embed"):
        page.goto(site.app + path)
        expect(page.locator("html")).to_have_attribute("lang", language)
    else:
        open_chat(page, site.app + path, language)
    web.axe_clean(page)
    question = {"fi": "Mikä on Raide-Jokeri?", "sv": "Vad är Spårjokern?"}[language]
    page.locator("textarea").first.fill(question)
    page.locator("textarea").first.press("Enter")
    card = page.locator(".esa-card, .card").first
    expect(card).to_be_visible()
    card.locator("summary").click()  # the whole passage, open
    expect(card.locator(".esa-passage, .passage")).to_be_visible()
    web.axe_clean(page)
    # the controls' accessible names too, Gradio's own (copy, like, ...) included
    names = page.evaluate(
        "[...document.querySelectorAll('[aria-label], [title]')]"
        ".map(e => (e.getAttribute('aria-label') || '') + ' ' + (e.getAttribute('title') || ''))"
    )
    words = {w.casefold() for name in names for w in re.findall(r"[^\W\d_]+", name)}
    english = {"copy", "like", "dislike", "clear", "chatbot", "conversation", "message", "source"}
    assert not words & english, sorted(names)


def answer_start_in_view(page: Page, log: str, answer: str) -> dict[str, float]:
    """Where the last answer starts, relative to its scrolling conversation and the window."""
    return dict(page.evaluate(
        """([log, answer]) => {
            const box = document.querySelector(log), all = document.querySelectorAll(answer);
            const top = all[all.length - 1].getBoundingClientRect().top;
            const area = box.getBoundingClientRect();
            return {top, areaTop: area.top, areaBottom: area.bottom, scrolled: box.scrollTop,
                    end: box.scrollHeight - box.clientHeight, window: window.innerHeight};
        }""",
        [log, answer],
    ))  # fmt: skip


def check_answer_start(where: dict[str, float]) -> None:
    # the answer's first line is at the top of the conversation (scrolled there), or as near it
    # as the conversation scrolls (a short answer at the end), and on screen
    at_top = where["top"] <= where["areaTop"] + 48
    assert where["areaTop"] - 1 <= where["top"], where
    assert at_top or where["scrolled"] >= where["end"] - 1, where
    assert where["scrolled"] > 0, where
    assert 0 <= where["top"] < where["window"] - 40, where


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_after_an_answer_the_chat_shows_its_first_line(page: Page, site: Site) -> None:
    open_chat(page, site.app, "en")
    box = page.get_by_label("Your question")
    for n, question in enumerate(LONG_QUESTIONS):
        box.fill(question)
        box.press("Enter")
        expect(page.locator(".esa-answer:not(.esa-partial)")).to_have_count(n + 1)
        expect(page.locator(".esa-partial")).to_have_count(0)
        page.wait_for_timeout(400)  # the page script scrolls on the next frame
        check_answer_start(answer_start_in_view(page, "#esa-chat [role=log]", ".esa-answer"))
    shot(page, "chat-answer-start.png")


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_after_an_answer_the_embed_page_shows_its_first_line(page: Page, site: Site) -> None:
    page.set_viewport_size({"width": 400, "height": 620})  # the widget's panel
    page.goto(f"{site.app}/embed")
    question = page.get_by_label("Your question")
    for n, text in enumerate(LONG_QUESTIONS):
        question.fill(text)
        question.press("Enter")
        expect(page.locator(".answer")).to_have_count(n + 1)
        page.wait_for_timeout(800)  # smooth scrolling
        check_answer_start(answer_start_in_view(page, "#esa-log", ".answer"))
    shot(page, "embed-answer-start.png")


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
@pytest.mark.parametrize(
    ("name", "language", "title", "greeting"),
    [
        ("city-site-fi.html", "fi", "Kysy Kestävästä Espoosta", "Hei! Kysy minulta"),
        ("city-site-sv.html", "sv", "Fråga om Hållbara Esbo", "Hej! Fråga mig"),
        ("city-site.html", "en", "Ask about Sustainable Espoo", "Hello! Ask me"),
    ],
    ids=["fi", "sv", "en"],
)
def test_the_widget_speaks_the_language_of_its_page(
    page: Page, site: Site, name: str, language: str, title: str, greeting: str
) -> None:
    page.goto(f"{site.pages}/{name}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    opener = translate(language, "Open chat: {title}", title=title)
    page.get_by_role("button", name=opener).click()
    closer = translate(language, "Close chat: {title}", title=title)
    expect(page.get_by_role("button", name=closer)).to_have_attribute("aria-expanded", "true")
    frame = page.locator(f"iframe[title='{title}']")
    assert f"lang={language}" in (frame.get_attribute("src") or "")
    chat = page.frame_locator(f"iframe[title='{title}']")
    expect(chat.locator("html")).to_have_attribute("lang", language)
    expect(chat.locator("#esa-greeting")).to_contain_text(greeting)
    expect(chat.get_by_label(translate(language, "Your question"))).to_be_focused()
    web.axe_clean(page)
    if language == "fi":
        shot(page, "widget-fi.png")


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_without_data_lang_the_widget_follows_the_page(page: Page, site: Site) -> None:
    page.goto(f"{site.pages}/no-data-lang.html")
    page.get_by_role("button", name="Avaa keskustelu: Kysy Kestävästä Espoosta").click()
    frame = page.locator("iframe[title='Kysy Kestävästä Espoosta']")
    assert "lang=fi" in (frame.get_attribute("src") or "")


@pytest.mark.slow
@pytest.mark.server
def test_the_real_api_takes_the_language(site: Site) -> None:
    import httpx

    with httpx.Client(base_url=site.app, timeout=60) as http:
        answer = http.post(
            "/api/ask", json={"question": "Mikä on Raide-Jokeri?", "language": "fi"}
        ).json()
        assert not answer["refused"] and answer["language"] == "fi"
        assert {c["language"] for c in answer["citations"]} <= {"fi", "sv", "en"}
        refused = http.post("/api/ask", json={"question": "Mikä?", "language": "finnish"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "language"
        empty = http.post("/api/ask/stream", json={"question": " ", "language": "sv"})
        assert empty.status_code == 422 and empty.json()["message"] == "Skriv en fråga."


def test_the_examples_pages_name_their_language() -> None:
    for name, language in (("city-site.html", "en"), ("city-site-fi.html", "fi"),
                           ("city-site-sv.html", "sv")):  # fmt: skip
        page = (web.ROOT / "examples" / name).read_text(encoding="utf-8")
        assert f'<html lang="{language}">' in page and f'data-lang="{language}"' in page


def ask_in_widget(page: Page, site: Site, name: str, title: str, question: str) -> Any:
    """Open the widget of the example page ``name`` and ask ``question``; the answer's node."""
    page.goto(f"{site.pages}/{name}")
    language = page.locator("html").get_attribute("lang") or "en"
    page.get_by_role("button", name=translate(language, "Open chat: {title}", title=title)).click()
    chat = page.frame_locator(f"iframe[title='{title}']")
    chat.get_by_label(translate(language, "Your question")).fill(question)
    chat.get_by_role("button", name=translate(language, "Ask"), exact=True).click()
    answer = chat.locator(".answer").last
    expect(answer.locator("p.text")).not_to_be_empty()
    return answer


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_a_finnish_question_in_the_finnish_widget_gets_a_finnish_cited_answer(
    page: Page, site: Site
) -> None:
    from assistant.text import detect_language, strip_markers

    question = "Milloin Espoon kaukolämmössä lopetettiin kivihiilen käyttö?"
    answer = ask_in_widget(page, site, "city-site-fi.html", "Kysy Kestävästä Espoosta", question)
    text = strip_markers(answer.locator("p.text").inner_text())
    assert detect_language(text)[0] == "fi", text
    expect(answer.locator(".sources-title")).to_have_text("Lähteet")
    cards = answer.locator(".card")
    assert cards.count() >= 1
    # the first source is Finnish: its quote carries no other language, and no note says so
    assert cards.first.locator("p.quote").get_attribute("lang") is None
    assert "lähde on" not in answer.inner_text().casefold()
    expect(cards.first.locator("a")).to_have_attribute("href", re.compile(r"^https?://"))
    expect(answer.locator("button.ref").first).to_have_text("[1]")


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_a_swedish_refusal_is_in_swedish(page: Page, site: Site) -> None:
    answer = ask_in_widget(
        page, site, "city-site-sv.html", "Fråga om Hållbara Esbo", "Blir det regn i Esbo i morgon?"
    )
    text = answer.locator("p.text").inner_text()
    assert text.startswith(translate("sv", REFUSAL_START)), text
    assert "Esbo" in text and "Espoo" not in text
    expect(answer.locator(".card")).to_have_count(0)
