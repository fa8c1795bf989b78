"""The admin API for editors: documents listed, uploaded, replaced and deleted with the real model
and index; builds followed by id; a hostile battery of uploads changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import copy_default_documents
from fastapi.testclient import TestClient

from assistant.answer.assistant import Assistant
from assistant.answer.retrieval import Retriever
from assistant.config import Settings
from assistant.embed.base import Embedder
from assistant.index.factory import build_from_settings, load_live_index
from assistant.web.admin import checked_name
from assistant.web.api import create_api
from assistant.web.live import LiveIndex

TOKEN = "editor-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOCUMENT = """---
title: Beekeeping on the roof of Kivikko depot
date: 2026-05-01
source: https://example.org/kivikko-bees
language: en
---

# Bees at Kivikko

The Kivikko depot roof trial keeps {hives} beehives of native bees.
The honey is given to the school kitchens of the district.
"""


@dataclass
class Admin:
    client: TestClient
    live: LiveIndex
    settings: Settings
    assistant: Assistant
    root: Path


@pytest.fixture
def admin(tmp_path: Path, embedder: Embedder) -> Iterator[Admin]:
    documents = copy_default_documents(
        tmp_path / "documents", "city-bikes.md", "jokeri-light-rail.md"
    )
    settings = Settings(
        documents=documents,
        index=tmp_path / "index",
        admin_token=TOKEN,
        max_upload=100_000,
        watch=False,
    )
    build_from_settings(settings, embedder=embedder)
    assistant = Assistant(settings, load_live_index(settings), Retriever(embedder))
    app = create_api(assistant, settings)
    live = LiveIndex(settings, assistant)
    app.state.live = live
    with TestClient(app) as client:
        yield Admin(client, live, settings, assistant, tmp_path)
    live.stop()


def put(admin: Admin, name: str, body: bytes) -> dict:  # type: ignore[type-arg]
    response = admin.client.put(f"/api/admin/documents/{name}", content=body, headers=AUTH)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def finished(admin: Admin, build: int) -> dict:  # type: ignore[type-arg]
    assert admin.live.wait_idle(timeout=120)
    state = admin.client.get(f"/api/admin/builds/{build}", headers=AUTH).json()
    assert state["state"] == "done", state
    return state  # type: ignore[no-any-return]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "index" not in p.relative_to(folder).parts
    }


def test_the_admin_routes_are_absent_without_a_token(tmp_path: Path) -> None:
    from test_i18n import Echo

    echo = Echo(Settings(documents=tmp_path))
    client = TestClient(create_api(echo, echo.settings))  # type: ignore[arg-type]
    for method, path in [
        ("get", "/api/admin/documents"),
        ("put", "/api/admin/documents/a.md"),
        ("delete", "/api/admin/documents/a.md"),
        ("get", "/api/admin/builds/1"),
        ("post", "/api/admin/reindex"),
    ]:
        response = client.request(method, path, headers=AUTH)
        assert response.status_code == 404, (method, path)
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_wrong_token_is_refused_and_then_rate_limited(admin: Admin) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = admin.client.get("/api/admin/documents", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    statuses = [
        admin.client.get("/api/admin/documents", headers={"Authorization": "Bearer x"}).status_code
        for _ in range(10)
    ]
    assert (
        statuses[-1] == 429
        and "wait a minute"
        in admin.client.get("/api/admin/documents", headers=AUTH).json()["message"]
    )


@pytest.mark.slow
def test_upload_replace_and_delete_reach_the_answers(admin: Admin) -> None:
    listed = admin.client.get("/api/admin/documents", headers=AUTH).json()["documents"]
    assert {d["name"]: d["status"] for d in listed} == {
        "city-bikes.md": "indexed",
        "jokeri-light-rail.md": "indexed",
    }
    assert all(d["chunks"] > 0 and d["language"] == "en" and d["title"] for d in listed)

    question = "How many beehives are on the Kivikko depot roof?"
    created = put(admin, "kivikko-bees.md", DOCUMENT.format(hives=37).encode())
    assert created["replaced"] is False and created["build_url"].endswith(str(created["build"]))
    state = finished(admin, created["build"])
    assert state["result"]["added"] == 1 and state["progress"]["chunk"]["done"] > 0
    answer = admin.assistant.ask(question)
    assert not answer.refused and "37" in answer.text
    assert answer.citations[0].document == "kivikko-bees.md"
    listed = admin.client.get("/api/admin/documents", headers=AUTH).json()["documents"]
    bees = next(d for d in listed if d["name"] == "kivikko-bees.md")
    assert bees["status"] == "indexed" and bees["source"] == "https://example.org/kivikko-bees"

    replaced = put(admin, "kivikko-bees.md", DOCUMENT.format(hives=52).encode())
    assert replaced["replaced"] is True
    assert finished(admin, replaced["build"])["result"]["changed"] == 1
    answer = admin.assistant.ask(question)
    assert "52" in answer.text and "37" not in answer.text

    deleted = admin.client.delete("/api/admin/documents/kivikko-bees.md", headers=AUTH)
    assert deleted.status_code == 202
    assert finished(admin, deleted.json()["build"])["result"]["removed"] == 1
    answer = admin.assistant.ask(question)
    assert all(c.document != "kivikko-bees.md" for c in answer.citations)
    missing = admin.client.delete("/api/admin/documents/kivikko-bees.md", headers=AUTH)
    assert missing.status_code == 404
    assert admin.client.get("/api/admin/builds/999", headers=AUTH).status_code == 404


@pytest.mark.slow
def test_a_hostile_battery_of_uploads_changes_nothing(admin: Admin) -> None:
    before = tree(admin.root)
    version = admin.assistant.version.name
    refused = {
        "..%2F..%2Fevil.md": b"# Evil\n\nText.",
        "..evil.md": b"# Evil\n\nText.",
        ".hidden.md": b"# Hidden\n\nText.",
        "run.exe": b"MZ\x90\x00",
        "empty.md": b"",
        "blank.txt": b"   \n\n  ",
        "fake.pdf": b"this is not a PDF at all",
        "binary.txt": b"\x00\x01\x02" * 100,
        "large.md": b"# Large\n\n" + b"word " * 30_000,
    }
    for name, body in refused.items():
        response = admin.client.put(f"/api/admin/documents/{name}", content=body, headers=AUTH)
        assert response.status_code in (400, 404, 413, 415, 422), (name, response.status_code)
        if response.status_code != 404:  # 404: a path that is no route at all
            assert response.json()["message"], name
    assert (
        admin.client.put("/api/admin/documents/fake.pdf", content=b"not a pdf", headers=AUTH)
        .json()["message"]
        .startswith("fake.pdf cannot be used: ")
    )
    assert tree(admin.root) == before and admin.assistant.version.name == version
    assert not admin.live.build(1)  # no build was even scheduled

    # HTML with scripts is accepted as a document: its text, not its scripts
    page = b"<html><body><h1>Bee hotel</h1><p>Bees like the hotel.</p><script>alert(1)</script>"
    finished(admin, put(admin, "bee-hotel.html", page)["build"])
    texts = [c.text for c in admin.assistant.version.chunks.values()]
    assert any("Bees like the hotel." in t for t in texts)
    assert not any("alert(" in t for t in texts)

    # two uploads of one name at once: one of them wins whole, and no temporary file is left
    bodies = [DOCUMENT.format(hives=n).encode() for n in (11, 22)]
    threads = [threading.Thread(target=put, args=(admin, "race.md", b)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (admin.settings.documents / "race.md").read_bytes() in bodies
    assert admin.live.wait_idle(timeout=120)
    assert not [p for p in admin.settings.documents.iterdir() if p.name.startswith(".upload-")]
    outside = set(tree(admin.root)) - set(before)
    assert outside == {"documents/bee-hotel.html", "documents/race.md"}


@pytest.mark.parametrize(
    "name", ["../x.md", "a/b.md", "a\\b.md", ".x.md", "x..md", "", "x" * 200 + ".md"]
)
def test_only_plain_file_names_pass(name: str) -> None:
    from assistant.web.admin import AdminError

    with pytest.raises(AdminError) as refused:
        checked_name(name)
    assert refused.value.status == 400


def test_a_plain_name_of_an_unsupported_type_is_415() -> None:
    from assistant.web.admin import AdminError

    assert checked_name("Kestävä Espoo 2026.md") == "Kestävä Espoo 2026.md"
    with pytest.raises(AdminError) as refused:
        checked_name("photo.jpg")
    assert refused.value.status == 415 and ".pdf" in str(refused.value)
