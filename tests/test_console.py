"""The editors' console at /admin in real Chromium against a real server process (``espoo-assistant
serve --watch``, the real model and index): sign in, upload a document and see the chat cite it,
replace it, delete it; a wrong token; the session cookie; axe-core; the keyboard; a 360 px screen;
Finnish."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import web_fixtures as web
from conftest import copy_default_documents
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from assistant.config import Settings
from assistant.embed.base import Embedder
from assistant.index.factory import build_from_settings

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.browser]

TOKEN = "test-admin-token"  # what test_live_server's server is started with
TIMEOUT = web.BROWSER_TIMEOUT
BEES = """---
title: Beehives on the Kivikko depot roof
date: 2026-05-01
source: https://example.org/kivikko-bees
language: en
---

# Bees at Kivikko

The Kivikko depot roof trial keeps {hives} beehives of native bees.
"""
QUESTION = "How many beehives are on the Kivikko depot roof?"


@dataclass
class Console:
    url: str
    documents: Path


@pytest.fixture(scope="module")
def console(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """``espoo-assistant serve --watch`` in its own process, over two documents."""
    from test_live_server import TOKEN as SERVER_TOKEN
    from test_live_server import _free_port, _start, _wait_healthy

    assert SERVER_TOKEN == TOKEN
    root = tmp_path_factory.mktemp("console")
    documents = copy_default_documents(root / "documents", "city-bikes.md", "jokeri-light-rail.md")
    build_from_settings(Settings(documents=documents, index=root / "index"), embedder=embedder)
    port = _free_port()
    process = _start(documents, root / "index", port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield Console(url, documents)
    finally:
        process.kill()
        process.wait(timeout=30)


def sign_in(page: Page, console: Console, token: str = TOKEN) -> None:
    page.goto(f"{console.url}/admin?lang=en")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def cited(console: Console) -> tuple[str, list[str]]:
    answer = httpx.post(f"{console.url}/api/ask", json={"question": QUESTION}, timeout=60).json()
    return answer["answer"], [c["document"] for c in answer["citations"]]


def ask_the_chat(chat: Page, console: Console) -> Any:
    """Ask QUESTION in the chat the widget opens (``/embed``); the answer's node."""
    chat.goto(f"{console.url}/embed?lang=en")
    chat.get_by_label("Your question").fill(QUESTION)
    chat.get_by_role("button", name="Ask", exact=True).click()
    answer = chat.locator(".answer").last
    expect(answer.locator("p.text")).not_to_be_empty()
    return answer


def test_an_editor_adds_replaces_and_deletes_a_document(
    page: Page, context: BrowserContext, console: Console, tmp_path: Path
) -> None:
    sign_in(page, console)
    table = page.get_by_role("table", name="Documents")
    expect(table.get_by_role("row")).to_have_count(3)  # the header and two documents
    expect(table).to_contain_text("In use")
    cookie = next(c for c in context.cookies() if c["name"] == "esa_admin")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("() => document.cookie") == ""  # the script cannot read the session
    assert page.evaluate("() => window.localStorage.length + window.sessionStorage.length") == 0
    web.axe_clean(page)

    # 1. add: the file picker (drag and drop takes the same path)
    new = tmp_path / "kivikko-bees.md"
    new.write_text(BEES.format(hives=37), encoding="utf-8")
    page.locator("#files").set_input_files(str(new))
    expect(page.locator("#build")).to_contain_text("The index is up to date: 1 added")
    row = table.get_by_role("row", name="Beehives on the Kivikko depot roof")
    expect(row).to_contain_text("In use")
    web.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(web.ARTIFACTS / "console.png"), full_page=True)
    chat = context.new_page()
    answer = ask_the_chat(chat, console)
    expect(answer.locator("p.text")).to_contain_text("37 beehives")
    expect(answer.locator(".card").first).to_contain_text("Beehives on the Kivikko depot roof")

    # 2. replace it from its row
    new.write_text(BEES.format(hives=52), encoding="utf-8")
    with page.expect_file_chooser() as chooser:
        row.get_by_role("button", name="Replace kivikko-bees.md").click()
    chooser.value.set_files(str(new))
    expect(page.locator("#build")).to_contain_text("1 changed")
    answer = ask_the_chat(chat, console)
    expect(answer.locator("p.text")).to_contain_text("52 beehives")
    expect(answer.locator("p.text")).not_to_contain_text("37")

    # 3. delete it, after confirming
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete kivikko-bees.md").click()
    expect(page.locator("#build")).to_contain_text("1 removed")
    expect(table.get_by_role("row")).to_have_count(3)
    assert "kivikko-bees.md" not in cited(console)[1]
    answer = ask_the_chat(chat, console)
    expect(answer).not_to_contain_text("Beehives on the Kivikko depot roof")
    assert not (console.documents / "kivikko-bees.md").exists()

    # the question asked through the API is in the log; signing out ends the session
    expect(page.locator("#gaps")).to_be_attached()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    session = httpx.get(
        f"{console.url}/api/admin/documents", cookies={"esa_admin": cookie["value"]}
    )
    assert session.status_code == 401


def test_a_wrong_token_is_refused_and_a_bad_upload_explained(
    page: Page, console: Console, tmp_path: Path
) -> None:
    sign_in(page, console, token="not-the-token")
    expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    expect(page.get_by_role("table", name="Documents")).to_be_hidden()
    sign_in(page, console)
    # the file input only exists for an editor once the sign-in has answered (and set the token)
    expect(page.get_by_role("table", name="Documents")).to_be_visible()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"this is not a PDF")
    page.locator("#files").set_input_files(str(broken))
    expect(page.locator("#error")).to_contain_text("broken.pdf: The file cannot be used:")
    assert not (console.documents / "broken.pdf").exists()


def test_a_late_answer_about_the_session_does_not_undo_a_sign_in(
    page: Page, console: Console, tmp_path: Path
) -> None:
    """The page asks on load whether it is signed in; an editor who signs in
    before that answer arrives stays signed in, and their next upload carries the CSRF token."""
    held: list[Route] = []

    def hold_the_check(route: Route) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route("**/admin/session", hold_the_check)
    sign_in(page, console)
    expect(page.get_by_role("table", name="Documents")).to_be_visible()
    assert len(held) == 1
    held[0].fulfill(json={"signed_in": False, "csrf": ""})  # as it was before the sign-in
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"this is not a PDF")
    page.locator("#files").set_input_files(str(broken))
    expect(page.locator("#error")).to_contain_text("broken.pdf: The file cannot be used:")
    expect(page.get_by_role("table", name="Documents")).to_be_visible()


def test_the_console_works_with_the_keyboard_alone(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/admin?lang=en")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(5):  # from the top of main to the token field
        if page.evaluate("() => document.activeElement.id") == "token":
            break
        page.keyboard.press("Tab")
    expect(page.get_by_label("Admin token")).to_be_focused()
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Documents")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#files")).to_be_focused()  # "Choose files" opens the picker
    label = page.locator("label[for=files]")  # and shows the focus, the input being hidden
    assert label.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"


def test_the_console_on_a_phone_in_finnish(browser: Browser, console: Console) -> None:
    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="fi-FI")
    try:
        page = phone.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(f"{console.url}/admin")
        expect(page.locator("html")).to_have_attribute("lang", "fi")
        finnish = page.get_by_role("navigation", name="Kieli").get_by_role("link", name="Suomi")
        expect(finnish).to_have_attribute("aria-current", "true")
        expect(page.get_by_role("heading", level=1)).to_have_text("Toimittajien hallintanäkymä")
        web.axe_clean(page)
        page.get_by_label("Ylläpitotunnus").fill(TOKEN)
        page.get_by_role("button", name="Kirjaudu sisään").click()
        expect(page.get_by_role("table", name="Asiakirjat")).to_contain_text("Käytössä")
        expect(page.get_by_role("heading", name="Vastaamattomat kysymykset")).to_be_visible()
        # the page itself does not scroll sideways; only the table's own box may
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        web.axe_clean(page)
        web.ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(web.ARTIFACTS / "console-fi-360.png"), full_page=True)
    finally:
        phone.close()
