"""The chat and the widget in real headless Chromium, against a real server on a free port.

Screenshots are written to ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import web_fixtures as web

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from assistant.answer.factory import create_assistant
from assistant.web.api import create_api
from assistant.web.database import Database
from assistant.web.server import create_app
from assistant.web.ui import FeedbackStore

# every test answers from the session's real index (conftest's web_corpus); all but one also
# drive Chromium against a live server, and are marked so one by one
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("web_corpus")]

PAYLOAD = "<img src=x onerror=\"window.__xss='question'\">"
WIDGET_TITLE = "Ask about Sustainable Espoo"
TIMEOUT = 60_000


@dataclass(frozen=True)
class Servers:
    app: str  # the assistant
    site: str  # the city's site: an allowed origin
    other: str  # the same pages from an origin that is not allowed


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    folder = web.workdir() / "site"
    folder.mkdir(exist_ok=True)
    with web.static_site(folder) as site:
        settings = web.built_settings().with_(allowed_origins=(site,))
        with web.live_server(create_app(settings, web.assistant())) as app:
            web.example_page(folder, "city-site.html", app)
            (folder / "frame.html").write_text(
                f'<!doctype html><title>frame</title><iframe id="f" src="{app}/embed"></iframe>'
            )
            yield Servers(app, site, site.replace("127.0.0.1", "localhost"))


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile; requests leaving the machine are answered by a stub and recorded."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    ctx.set_default_timeout(TIMEOUT)
    ctx.external = []  # type: ignore[attr-defined]

    def stub(route: Route) -> None:
        ctx.external.append(route.request.url)  # type: ignore[attr-defined]
        route.fulfill(status=200, content_type="text/html", body="<title>stub</title>external stub")

    ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), stub)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def shot(page: Page, name: str, **kwargs: Any) -> Path:
    web.ARTIFACTS.mkdir(exist_ok=True)
    path = web.ARTIFACTS / name
    page.screenshot(path=str(path), **kwargs)
    return path


def ask_in_chat(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def watch_streaming(page: Page) -> None:
    """Record the length of every partial (still streaming) answer the page shows."""
    page.evaluate("""() => { window.__partial = new Set();
        new MutationObserver(() => { for (const a of document.querySelectorAll('.esa-partial'))
            window.__partial.add(a.textContent.length); }).observe(document.body,
            {subtree: true, childList: true, characterData: true}); }""")


# --- the Gradio chat -----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.server
def test_chat_streams_an_answer_with_source_cards_and_working_links(
    page: Page, context: BrowserContext, servers: Servers
) -> None:
    question = "What is Espoo's carbon neutrality goal?"
    expected = web.assistant().ask(question).to_dict()["citations"][0]
    page.goto(servers.app)
    expect(page.get_by_role("heading", name="Espoo Sustainability Assistant")).to_be_visible()
    watch_streaming(page)
    ask_in_chat(page, question)
    card = page.locator(".esa-card").first
    expect(card).to_be_visible()
    # "…" while searching, then at least one partial text before the full answer replaced it
    assert page.evaluate("window.__partial.size") >= 2
    expect(page.locator(".esa-partial")).to_have_count(0)  # then was replaced by the full one
    expect(page.locator(".esa-answer > p").first).to_contain_text("2030")
    expect(card.locator(".esa-card-title")).to_contain_text(expected["title"])
    expect(card.locator(".esa-meta")).to_contain_text(expected["date"])
    expect(card.locator("mark").first).to_have_text(expected["quotes"][0])
    expect(card.locator(".esa-passage")).to_contain_text(expected["text"][:60])
    link = card.locator("a.esa-link")
    assert link.get_attribute("href") == expected["source"]
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "")
    assert context.external == []  # type: ignore[attr-defined]  # the page loads nothing external
    page.wait_for_timeout(300)  # let the chat finish autoscrolling, then show the answer's top
    page.locator("#esa-chat [role=log]").evaluate("log => { log.scrollTop = 0; }")
    shot(page, "chat.png")
    with page.expect_popup() as popup:
        link.click()
    expect(popup.value).to_have_url(expected["source"])
    expect(popup.value.locator("body")).to_have_text("external stub")


def test_until_the_chat_is_built_the_page_says_it_is_starting() -> None:
    from fastapi.testclient import TestClient

    # without its lifespan running, a chat_later app never gets to build the chat
    client = TestClient(create_app(web.built_settings(), web.assistant(), chat_later=True))
    page = client.get("/")
    assert page.status_code == 503 and page.headers["retry-after"] == "2"
    assert "starting" in page.text and "http-equiv='refresh'" in page.text
    assert client.get("/api/health").json()["chat"] == "starting"
    answer = client.post("/api/ask", json={"question": "What is Espoo's carbon neutrality goal?"})
    assert "2030" in answer.json()["answer"]
    client.app.state.chat = "failed"  # what a failed build of the chat leaves
    page = client.get("/")
    assert page.status_code == 503 and "could not start" in page.text
    assert "refresh" not in page.text, "a page that cannot come back does not reload itself"


@pytest.mark.browser
@pytest.mark.server
def test_the_chat_built_after_start_up_answers(page: Page) -> None:
    # what `serve` runs: the API first, the chat mounted when Gradio has been built
    app = create_app(web.built_settings(), web.assistant(), chat_later=True)
    with web.live_server(app) as url:
        page.goto(url)  # the "starting" page reloads itself until the chat is there
        expect(page.get_by_label("Your question")).to_be_visible(timeout=TIMEOUT)
        assert app.state.chat == "ready"
        ask_in_chat(page, "What is Espoo's carbon neutrality goal?")
        expect(page.locator(".esa-answer > p").first).to_contain_text("2030")


@pytest.fixture(scope="module")
def slow_app(llm_server: tuple[str, Path]) -> Iterator[str]:
    """The app answering through the language model's "slow" reply, which takes 5 s: time to type
    the next question while an answer is coming."""
    settings = web.built_settings().with_(llm_url=llm_server[0], llm_model="slow")
    slow = create_assistant(settings, embedder=web.embedder())
    with web.live_server(create_app(settings, slow)) as url:
        yield url


@pytest.mark.browser
@pytest.mark.server
def test_a_question_typed_while_an_answer_is_coming_is_kept_and_asked_next(
    page: Page, slow_app: str
) -> None:
    page.goto(slow_app)
    ask_in_chat(page, "When will Espoo be carbon neutral?")
    expect(page.locator(".esa-partial")).to_have_count(1)  # the first answer is coming
    ask_in_chat(page, "What is the Espoo Story?")
    page.wait_for_timeout(500)
    expect(page.locator(".esa-partial")).to_have_count(1)  # the first answer still is
    expect(page.get_by_label("Your question")).to_have_value("What is the Espoo Story?")
    # the next question was neither lost nor answered over the first: it is asked after it
    answered = page.locator(".esa-answer:not(.esa-partial)")
    expect(answered).to_have_count(2, timeout=2 * TIMEOUT)
    expect(page.locator(".esa-question")).to_have_text(
        ["When will Espoo be carbon neutral?", "What is the Espoo Story?"]
    )
    expect(answered.nth(1)).to_contain_text("2030")  # the scripted model's answer
    expect(page.get_by_label("Your question")).to_have_value("")
    # an example question clicked while an answer is coming is answered too, after it
    ask_in_chat(page, "Is the coal plant closed?")
    expect(page.locator(".esa-partial")).to_have_count(1)
    example = page.locator("#esa-examples button").first
    example.click()
    expect(answered).to_have_count(4, timeout=2 * TIMEOUT)
    expect(page.locator(".esa-question").nth(3)).to_have_text(example.inner_text())


@pytest.mark.browser
@pytest.mark.server
def test_the_widget_asks_a_question_sent_while_an_answer_is_coming_next(
    page: Page, slow_app: str
) -> None:
    page.goto(f"{slow_app}/embed")
    question = page.get_by_label("Your question")
    question.fill("When will Espoo be carbon neutral?")
    question.press("Enter")
    expect(page.locator(".msg.bot[aria-busy=true]")).to_have_count(1)
    question.fill("What is the Espoo Story?")
    question.press("Enter")
    expect(page.locator("#esa-announce")).to_have_text(
        "Your question will be asked when this answer is complete."
    )
    expect(question).to_have_value("What is the Espoo Story?")  # kept, and still editable
    expect(page.locator(".answer")).to_have_count(2, timeout=2 * TIMEOUT)
    expect(page.locator(".msg.user")).to_have_text(
        ["When will Espoo be carbon neutral?", "What is the Espoo Story?"]
    )
    expect(question).to_have_value("")


@pytest.mark.browser
@pytest.mark.server
def test_chat_works_with_the_keyboard_alone(page: Page, servers: Servers) -> None:
    page.goto(servers.app)
    box = page.get_by_label("Your question")
    expect(box).to_be_visible()
    # The language switch (Suomi, Svenska, English) comes first, then the question box.
    languages = page.get_by_role("navigation").get_by_role("link")
    for _ in range(6):
        page.keyboard.press("Tab")
        if box.evaluate("b => b === document.activeElement"):
            break
        assert languages.evaluate_all("links => links.includes(document.activeElement)")
    expect(box).to_be_focused()
    page.keyboard.type("What is the Jokeri light rail?")
    expect(box).to_have_value("What is the Jokeri light rail?")
    # The tab order is what is tested next. Once, on a busy 2-core CI machine, a late re-render of
    # the page dropped the focus after typing, so Tab started from the page's top.
    box.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Ask", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".esa-card").first).to_be_visible()
    link = page.locator("a.esa-link").last
    for _ in range(8):  # back past the question box and the message's buttons to its sources
        page.keyboard.press("Shift+Tab")
        if link.evaluate("a => a === document.activeElement"):
            break
    expect(link).to_be_focused()
    with page.expect_popup() as popup:
        page.keyboard.press("Enter")
    expect(popup.value).to_have_url(re.compile(r"^https://"))


@pytest.mark.browser
@pytest.mark.server
def test_chat_links_a_pdf_source_to_its_page(page: Page, servers: Servers) -> None:
    page.goto(servers.app)
    ask_in_chat(page, web.PDF_QUESTION)
    card = page.locator(".esa-card").first
    expect(card.locator(".esa-meta")).to_contain_text("page 2")
    expect(card.locator("a.esa-link")).to_have_attribute("href", web.PDF_SOURCE + "#page=2")


@pytest.mark.browser
@pytest.mark.server
def test_chat_shows_xss_payloads_as_text(page: Page, servers: Servers) -> None:
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(servers.app)
    ask_in_chat(page, f"{web.XSS_QUESTION} {PAYLOAD}")
    card = page.locator(".esa-card").first
    expect(card).to_be_visible()
    expect(page.locator(".esa-question").last).to_contain_text(PAYLOAD)
    expect(card.locator(".esa-card-title")).to_contain_text("Glow-worm survey <img src=x onerror=")
    answer = page.locator(".esa-answer > p").first
    expect(answer).to_contain_text("<script>window.__xss='script'</script>")
    expect(card.locator(".esa-link")).to_have_text("javascript:window.__xss='link'")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#esa-chat img[src='x'], #esa-chat a[href^='javascript']").count() == 0
    assert not [url for url in fetched if url.endswith("/x")]
    shot(page, "chat-xss.png")


@pytest.mark.browser
@pytest.mark.server
def test_feedback_is_stored_with_the_question_answer_and_citations(
    page: Page, servers: Servers
) -> None:
    store = FeedbackStore(Database.from_settings(web.built_settings()))
    before = len(store.all())
    page.goto(servers.app)
    ask_in_chat(page, "What is the Jokeri light rail?")
    expect(page.locator(".esa-card").first).to_be_visible()
    page.get_by_text("Was the last answer helpful?").click()
    page.get_by_label("Comment (optional)").fill("Clear and well sourced <b>thanks</b>")
    page.get_by_role("button", name="👍 Helpful").click()
    expect(page.locator("#esa-feedback-status")).to_contain_text("Thank you")
    page.get_by_role("button", name="Dislike").first.click()  # the message's own thumbs
    expect(page.locator("#esa-feedback-status")).to_contain_text("rating (not helpful) was saved")
    rows = store.all()[before:]
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[0]["comment"] == "Clear and well sourced <b>thanks</b>"
    assert rows[0]["question"] == "What is the Jokeri light rail?"
    assert "Jokeri" in rows[0]["answer"]
    assert rows[0]["citations"][0]["document"] == "jokeri-light-rail.md"
    assert "Jokeri" in rows[0]["citations"][0]["title"]


@pytest.mark.browser
@pytest.mark.server
def test_about_panel_and_clear_button(page: Page, servers: Servers) -> None:
    page.goto(servers.app)
    page.get_by_text("About this assistant").click()
    about = page.locator(".esa-about")
    version = web.assistant().version
    newest = max(d["date"] for d in version.manifest.documents.values() if d.get("date"))
    expect(about).to_contain_text(f"{web.document_count()} documents")
    expect(about).to_contain_text(version.name)
    expect(about).to_contain_text(f"The newest is from {newest}")
    expect(about).to_contain_text("Topics include: climate")
    page.get_by_role("button", name="How is Espoo replacing coal in district heating?").click()
    expect(page.locator(".esa-card").first).to_be_visible()
    page.get_by_role("button", name="Clear conversation").click()
    expect(page.locator(".esa-card")).to_have_count(0)


@pytest.mark.browser
@pytest.mark.server
def test_chat_is_readable_on_a_phone(browser: Browser, servers: Servers) -> None:
    phone = browser.new_context(
        viewport={"width": 360, "height": 780},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = phone.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        page.goto(servers.app)
        ask_in_chat(page, "How does Espoo protect the Baltic Sea?")
        expect(page.locator(".esa-card").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        for control in (
            page.get_by_label("Your question"),
            page.get_by_role("button", name="Ask", exact=True),
        ):
            box = control.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        shot(page, "chat-phone.png")
    finally:
        phone.close()


@pytest.mark.browser
@pytest.mark.server
def test_chat_serves_several_users_at_once_within_the_rate_limit(browser: Browser) -> None:
    settings = web.built_settings().with_(rate_limit="3/minute")  # per client address
    with web.live_server(create_app(settings, web.assistant())) as url:
        users = [browser.new_context() for _ in range(2)]
        try:
            pages = [user.new_page() for user in users]
            for page in pages:
                page.set_default_timeout(TIMEOUT)
                page.goto(url)
            for page in pages:  # both ask before either answer is awaited
                ask_in_chat(page, "What is the Jokeri light rail?")
            for page in pages:
                expect(page.locator(".esa-card").first).to_be_visible()
            ask_in_chat(pages[0], "How is Espoo replacing coal in district heating?")
            expect(
                pages[0].locator(".esa-answer").nth(1).locator(".esa-card").first
            ).to_be_visible()
            ask_in_chat(pages[0], "And the Baltic Sea?")  # the fourth question within a minute
            expect(pages[0].locator(".esa-answer").nth(2)).to_contain_text(
                "You are asking very quickly. Please wait"
            )
        finally:
            for user in users:
                user.close()


# --- the widget ----------------------------------------------------------------------------------


def open_city_page(page: Page, servers: Servers) -> Any:
    page.goto(f"{servers.site}/city-site.html")
    return page.get_by_role("button", name=f"Open chat: {WIDGET_TITLE}")


@pytest.mark.browser
@pytest.mark.server
def test_widget_answers_with_clickable_citations(
    page: Page, context: BrowserContext, servers: Servers
) -> None:
    launcher = open_city_page(page, servers)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    box = launcher.bounding_box()
    assert box is not None and box["x"] > 1100 / 2 and box["y"] > 900 / 2  # data-position
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(0, 80, 160)"
    launcher.click()
    expect(page.get_by_role("button", name=f"Close chat: {WIDGET_TITLE}")).to_have_attribute(
        "aria-expanded", "true"
    )
    expect(page.get_by_role("dialog", name=WIDGET_TITLE)).to_be_visible()
    chat = page.frame_locator(f"iframe[title='{WIDGET_TITLE}']")
    expect(chat.locator("#esa-greeting")).to_have_text(
        "Hello! Ask me about Espoo's climate and sustainability work."
    )
    chat.get_by_label("Your question").fill("How is Espoo replacing coal in district heating?")
    chat.get_by_role("button", name="Ask", exact=True).click()
    card = chat.locator(".card").first
    expect(card).to_be_visible()
    expect(card.locator("mark").first).not_to_be_empty()
    expect(card.locator("a")).to_have_attribute("href", re.compile(r"^https?://"))
    expect(chat.locator("#esa-announce")).to_contain_text("Answer:")
    cards = chat.locator(".card").count()
    below = f"({cards} source below.)" if cards == 1 else f"({cards} sources below.)"
    expect(chat.locator("#esa-announce")).to_contain_text(below)
    chat.locator("button.ref").first.click()
    expect(chat.locator(".card").first).to_be_focused()
    assert context.external == []  # type: ignore[attr-defined]
    page.wait_for_timeout(600)  # the log scrolls smoothly to the focused card
    shot(page, "widget.png")


@pytest.mark.browser
@pytest.mark.server
def test_widget_works_with_the_keyboard_alone(page: Page, servers: Servers) -> None:
    launcher = open_city_page(page, servers)
    for _ in range(12):
        page.keyboard.press("Tab")
        if launcher.evaluate("b => b.getRootNode().activeElement === b"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    frame = page.frame_locator(f"iframe[title='{WIDGET_TITLE}']")
    question = frame.get_by_label("Your question")
    expect(question).to_be_focused()  # focus moved into the chat
    page.keyboard.type("What is the Jokeri light rail?")
    page.keyboard.press("Enter")
    expect(frame.locator(".card").first).to_be_visible()
    page.keyboard.press("Shift+Tab")  # from the question box back into the answer: a source link
    expect(frame.locator(".card a").last).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name=WIDGET_TITLE)).to_be_hidden()
    expect(launcher).to_be_focused()  # focus returns to the button
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(question).to_be_focused()
    expect(frame.locator(".card").first).to_be_visible()  # the conversation is kept


@pytest.mark.browser
@pytest.mark.server
def test_widget_shows_xss_payloads_as_text(page: Page, servers: Servers) -> None:
    open_city_page(page, servers).click()
    chat = page.frame_locator(f"iframe[title='{WIDGET_TITLE}']")
    chat.get_by_label("Your question").fill(f"{web.XSS_QUESTION} {PAYLOAD}")
    chat.get_by_label("Your question").press("Enter")
    card = chat.locator(".card").first
    expect(card).to_be_visible()
    expect(chat.locator(".msg.user")).to_have_text(f"{web.XSS_QUESTION} {PAYLOAD}")
    expect(card.locator(".card-title")).to_contain_text("<img src=x onerror=")
    expect(chat.locator(".answer .text")).to_contain_text("<script>window.__xss='script'</script>")
    expect(card).to_contain_text("javascript:window.__xss='link'")
    assert card.locator("a").count() == 0  # no link for a javascript: source
    page.wait_for_timeout(500)
    embed = next(f for f in page.frames if f.url.startswith(servers.app))
    assert embed.evaluate("window.__xss") is None and page.evaluate("window.__xss") is None
    assert embed.locator("img").count() == 0


@pytest.mark.browser
@pytest.mark.server
def test_embed_shows_a_friendly_message_when_rate_limited(page: Page) -> None:
    settings = web.built_settings().with_(rate_limit="2/minute")
    with web.live_server(create_api(web.assistant(), settings)) as url:
        page.goto(f"{url}/embed")
        question = page.get_by_label("Your question")
        for n in range(2):
            question.fill("How long have city bikes been available in Espoo?")
            question.press("Enter")
            expect(page.locator(".answer")).to_have_count(n + 1)
        question.fill("And how many are there?")
        question.press("Enter")
        expect(page.locator(".msg.error")).to_contain_text("Please wait")
        expect(page.locator("#esa-announce")).to_contain_text("Please wait")
        shot(page, "embed-rate-limited.png")


@pytest.mark.browser
@pytest.mark.server
def test_embed_asks_once_more_when_the_answer_is_cut_off(page: Page, servers: Servers) -> None:
    tries: list[str] = []

    def cut_off_once(route: Route) -> None:
        tries.append(route.request.post_data or "")
        if len(tries) == 1:  # a server that went away mid-answer: a delta, then the end
            route.fulfill(
                status=200,
                headers={"Content-Type": "text/event-stream"},
                body='event: delta\ndata: {"text": "Half an ans"}\n\n',
            )
        else:
            route.continue_()

    page.route("**/api/ask/stream", cut_off_once)
    page.goto(f"{servers.app}/embed")
    page.get_by_label("Your question").fill("When will Espoo be carbon neutral?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator(".answer")).to_have_count(1)
    expect(page.locator(".answer")).to_contain_text("2030")
    expect(page.locator(".answer")).not_to_contain_text("Half an ans")
    assert page.locator(".msg.error").count() == 0
    assert len(tries) == 2 and tries[0] == tries[1], "the same question, asked once more"

    # a connection that breaks twice: one polite message, no third try
    page.unroute("**/api/ask/stream")
    broken: list[str] = []
    page.route("**/api/ask/stream", lambda route: (broken.append("x"), route.abort("failed")))
    page.get_by_label("Your question").fill("How long have city bikes been available in Espoo?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator(".msg.error")).to_contain_text("cannot be reached")
    page.wait_for_timeout(300)
    assert len(broken) == 2
    assert page.locator(".answer").count() == 1


@pytest.mark.browser
@pytest.mark.server
def test_embed_may_be_framed_only_by_allowed_origins(page: Page, servers: Servers) -> None:
    page.goto(f"{servers.site}/frame.html")
    expect(page.frame_locator("#f").get_by_label("Your question")).to_be_visible()
    with page.expect_console_message(lambda message: "frame-ancestors" in message.text):
        page.goto(f"{servers.other}/frame.html")  # localhost: not in the allowlist
    page.wait_for_timeout(300)
    assert page.frame_locator("#f").locator("#esa-q").count() == 0
