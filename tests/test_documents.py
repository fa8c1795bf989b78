"""Loaders: Markdown, text, HTML and PDF into Documents; bad files are skipped with a reason."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
from conftest import DOCUMENTS

from assistant.errors import DocumentsError
from assistant.ingest.chunking import chunk_document
from assistant.ingest.documents import Document, load_document, load_documents, scan_folder

# --- helpers -------------------------------------------------------------------------------------

PDF_PAGES = [
    [
        "Geothermal heat in Otaniemi.",
        "The first page describes the deep geothermal wells drilled in Otaniemi.",
        "The wells reach a depth of several kilometres below the campus.",
    ],
    [
        "Biogas at Ammassuo.",
        "The second page explains how biowaste becomes biogas at the Ammassuo centre.",
        "The biogas is used to produce electricity and heat for the region.",
    ],
    [
        "City bikes along the metro.",
        "The third page counts the city bike stations along the metro line.",
        "Riders made millions of trips in the season.",
    ],
]


def make_pdf(pages: list[list[str]] = PDF_PAGES, *, title: str = "Espoo test report") -> bytes:
    """A real multi-page PDF, one line of text per entry."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    for lines in pages:
        y = 780
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 18
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def load(path: Path, root: Path | None = None) -> Document:
    root = root or path.parent
    return load_document(path, path.relative_to(root).as_posix())


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- Markdown ------------------------------------------------------------------------------------

MARKDOWN = """---
title: "Biogas at Ämmässuo"
source: https://example.org/biogas
date: 2024-03-04
language: en
topics: [waste, biogas]
---

# Biogas at Ämmässuo

Biowaste from the capital region becomes biogas.

## Energy

The biogas plant produces electricity and heat.
"""


def test_markdown_front_matter_gives_title_source_date_and_topics(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "biogas.md", MARKDOWN))

    assert doc.id == "biogas.md"
    assert doc.title == "Biogas at Ämmässuo"
    assert doc.source == "https://example.org/biogas"
    assert doc.date == "2024-03-04"
    assert doc.language == "en"
    assert doc.topics == ("waste", "biogas")
    assert "---" not in doc.text and "title:" not in doc.text
    assert "## Energy" in doc.text.splitlines()
    assert doc.page_at(0) is None


@pytest.mark.parametrize(
    ("topics", "expected"),
    [
        ("[energy, coal]", ("energy", "coal")),
        ("energy, coal", ("energy", "coal")),
        ("2030", ("2030",)),
        ("true", ("True",)),
        ("", ()),
    ],
    ids=["list", "comma-string", "number", "boolean", "empty"],
)
@pytest.mark.parametrize("where", ["front-matter", "sidecar"])
def test_topics_of_any_yaml_type_are_read(
    tmp_path: Path, where: str, topics: str, expected: tuple[str, ...]
) -> None:
    if where == "front-matter":
        path = write(tmp_path, "a.md", f"---\ntitle: A\ntopics: {topics}\n---\nBody text.\n")
    else:
        path = write(tmp_path, "a.txt", "Body text.\n")
        write(tmp_path, "a.txt.meta.yml", f"title: A\ntopics: {topics}\n")

    docs, skipped = load_documents(tmp_path)

    assert skipped == []
    assert [d.topics for d in docs] == [expected], path


def test_markdown_without_front_matter_takes_the_title_from_the_h1(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "plain.md", "# Kera district\n\nKera is a circular district.\n"))

    assert doc.title == "Kera district"
    assert doc.date == "" and doc.source == ""


def test_default_markdown_document_is_read_with_its_metadata() -> None:
    doc = load(DOCUMENTS / "district-heating-coal-phase-out.md")

    assert doc.title == "District heating and the end of coal in Espoo"
    assert doc.date == "2024-03-04"
    assert doc.source.startswith("https://www.espoo.fi/")
    assert "coal" in doc.topics
    assert "Suomenoja" in doc.text


# --- plain text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_line",
    ["date 2018-07-17 Espoo was chosen.", "Date: 2018-07-17", "2018-07-17"],
    ids=["date-word", "date-colon", "bare-date"],
)
def test_text_date_is_parsed_from_a_leading_date_line(tmp_path: Path, first_line: str) -> None:
    path = write(
        tmp_path, "press.txt", f"{first_line}\n\nEspoo is a pioneer city of the UN goals.\n"
    )

    doc = load(path)

    assert doc.date == "2018-07-17"
    assert "pioneer city" in doc.text


def test_text_without_a_date_line_has_no_date_and_a_title_from_the_file_name(
    tmp_path: Path,
) -> None:
    doc = load(write(tmp_path, "city-bike_notes.txt", "Espoo city bikes were piloted in 2017.\n"))

    assert doc.date == ""
    assert doc.title == "City bike notes"


def test_text_sidecar_metadata_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "release.txt", "Espoo joins the UN pioneer cities.\n")
    write(
        tmp_path,
        "release.txt.meta.yml",
        'title: "Espoo joins the pioneers"\nsource: https://example.org/r\n'
        "date: 2018-07-17\ntopics: [un sdgs, co-creation]\n",
    )

    doc = load(path)

    assert doc.title == "Espoo joins the pioneers"
    assert doc.source == "https://example.org/r"
    assert doc.date == "2018-07-17"
    assert doc.topics == ("un sdgs", "co-creation")


def test_default_press_release_text_has_its_date_and_sidecar_metadata() -> None:
    doc = load(DOCUMENTS / "espoo-un-sdg-pioneer-2018.txt")

    assert doc.id == "espoo-un-sdg-pioneer-2018.txt"
    assert doc.date == "2018-07-17"
    assert doc.title.startswith("Espoo to become a forerunner in the UN")
    assert doc.source.startswith("https://www.espoo.fi/")
    assert "pioneer city" in doc.topics
    assert "Aalto University" in doc.text


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_non_utf8_text_is_loaded_with_the_right_characters(tmp_path: Path, encoding: str) -> None:
    text = "Ämmässuo in Espoo treats the waste of the capital region. Entry costs 5 € per visit."
    if encoding == "latin-1":
        text = text.replace("€", "EUR") + " Smörgåsbord ±1 °C."  # latin-1 has no euro sign
    path = write(tmp_path, "waste.txt", text.encode(encoding))

    doc = load(path)

    assert doc.text == text
    assert "Ämmässuo" in doc.text


def test_text_is_normalised_to_nfc_with_whitespace_collapsed(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Ämmässuo")
    assert decomposed != "Ämmässuo"
    raw = f"{decomposed}   handles\t\twaste.\r\nSecond   line.\n\n\n\n\nNew   paragraph.  \n"
    path = write(tmp_path, "nfd.txt", raw)

    doc = load(path)

    assert doc.text == "Ämmässuo handles waste.\nSecond line.\n\nNew paragraph."
    assert unicodedata.is_normalized("NFC", doc.text)


def test_markdown_title_is_normalised_to_nfc(tmp_path: Path) -> None:
    title = unicodedata.normalize("NFD", "Ämmässuo")
    doc = load(write(tmp_path, "t.md", f"---\ntitle: {title}\n---\nText about waste.\n"))

    assert doc.title == "Ämmässuo"


# --- HTML ----------------------------------------------------------------------------------------

HTML = """<!doctype html>
<html lang="en">
<head>
  <title>Kera district</title>
  <meta name="date" content="2023-05-01T09:00:00+03:00">
  <link rel="canonical" href="https://www.espoo.fi/en/kera">
  <style>body { color: red } .STYLETEXT {}</style>
  <script>var secret = "SCRIPTTEXT";</script>
</head>
<body>
  <nav><a href="/">Home NAVTEXT</a> <a href="/news">News</a></nav>
  <h1>Kera district</h1>
  <p>Kera is   Espoo's model district for the circular economy. Old buildings are reused.</p>
  <h2>Housing</h2>
  <p>About 14,000 residents will live in Kera.</p>
  <ul><li>First item.</li><li>Second item.</li></ul>
  <h3>Timeline</h3>
  <p>Building starts in 2025.</p>
  <script>document.write("SCRIPTTEXT2")</script>
</body>
</html>
"""


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_gives_title_main_text_and_headings(tmp_path: Path, suffix: str) -> None:
    doc = load(write(tmp_path, f"kera{suffix}", HTML))

    assert doc.title == "Kera district"
    assert doc.date == "2023-05-01"
    assert doc.source == "https://www.espoo.fi/en/kera"
    lines = doc.text.splitlines()
    assert "## Housing" in lines
    assert "### Timeline" in lines
    assert "Kera is Espoo's model district for the circular economy. Old buildings are reused." in (
        lines
    )
    assert "About 14,000 residents will live in Kera." in lines
    assert "First item." in lines and "Second item." in lines
    for removed in ("SCRIPTTEXT", "STYLETEXT", "NAVTEXT", "color: red"):
        assert removed not in doc.text


def test_html_prefers_the_main_element_and_drops_page_chrome(tmp_path: Path) -> None:
    html = """<html><head><title>Climate Watch</title></head><body>
      <header><p>HEADERTEXT site banner</p></header>
      <nav><ul><li>NAVTEXT menu</li></ul></nav>
      <main><h2>What Climate Watch is</h2><p>Climate Watch follows Espoo's actions.</p></main>
      <footer><p>FOOTERTEXT contact</p></footer>
    </body></html>"""
    doc = load(write(tmp_path, "watch.html", html))

    assert doc.title == "Climate Watch"
    assert doc.text == "## What Climate Watch is\n\nClimate Watch follows Espoo's actions."


def test_html_headings_become_chunk_sections(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "kera.html", HTML))

    sections = {c.section for c in chunk_document(doc, size=600, overlap=1)}

    assert "Housing › Timeline" in sections


# --- PDF -----------------------------------------------------------------------------------------


def test_pdf_text_is_read_per_page_with_its_title(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "report.pdf", make_pdf()))

    assert doc.title == "Espoo test report"
    assert len(doc.page_starts) == 3
    for page, lines in enumerate(PDF_PAGES, start=1):
        start = doc.page_starts[page - 1]
        end = doc.page_starts[page] if page < 3 else len(doc.text)
        page_text = doc.text[start:end]
        for line in lines:
            assert line in page_text


def test_pdf_page_at_gives_the_page_of_an_offset(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "report.pdf", make_pdf()))

    for page, lines in enumerate(PDF_PAGES, start=1):
        for line in lines:
            offset = doc.text.index(line)
            assert doc.page_at(offset) == page, line
            assert doc.page_at(offset + len(line) - 1) == page, line
    assert doc.page_at(0) == 1
    assert doc.page_at(len(doc.text) - 1) == 3


def test_pdf_chunks_carry_their_page(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "report.pdf", make_pdf()))

    chunks = chunk_document(doc, size=100, overlap=0)

    assert {c.page for c in chunks} == {1, 2, 3}
    for chunk in chunks:
        assert chunk.page == doc.page_at(chunk.start)
    biogas = next(c for c in chunks if "biowaste becomes biogas" in c.text)
    assert biogas.page == 2
    bikes = next(c for c in chunks if "city bike stations" in c.text)
    assert bikes.page == 3


# --- documents folder ----------------------------------------------------------------------------


def test_document_id_is_the_path_relative_to_the_folder(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# A\n\nAlpha text.\n")
    write(tmp_path, "sub/a.md", "# Sub A\n\nSub alpha text.\n")
    write(tmp_path, "sub/deeper/b.txt", "Beta text.\n")

    docs, skipped = load_documents(tmp_path)

    assert skipped == []
    assert sorted(d.id for d in docs) == ["a.md", "sub/a.md", "sub/deeper/b.txt"]
    assert next(d for d in docs if d.id == "sub/a.md").title == "Sub A"


def test_sidecar_hidden_and_temporary_files_are_not_documents(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Alpha text.\n")
    write(tmp_path, "a.txt.meta.yml", "title: Alpha\n")
    write(tmp_path, ".hidden.md", "Hidden.\n")
    write(tmp_path, "draft.md~", "Editor backup.\n")
    write(tmp_path, "_drafts/b.md", "Draft.\n")

    docs, skipped = load_documents(tmp_path)

    assert [d.id for d in docs] == ["a.txt"]
    assert docs[0].title == "Alpha"
    assert skipped == []


def test_content_hash_changes_with_the_sidecar(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Alpha text.\n")
    before = scan_folder(tmp_path).hashes["a.txt"]
    write(tmp_path, "a.txt.meta.yml", "title: Alpha\n")

    assert scan_folder(tmp_path).hashes["a.txt"] != before


BAD_FILES = [
    pytest.param(
        "truncated.pdf",
        lambda: make_pdf()[: len(make_pdf()) // 2],
        ("pdf", "damaged"),
        id="truncated-pdf",
    ),
    pytest.param(
        "garbage.pdf",
        lambda: b"%PDF-1.7\n" + bytes(range(256)) * 16,
        ("pdf", "damaged"),
        id="garbage-after-pdf-header",
    ),
    pytest.param("fake.pdf", lambda: b"This is not a PDF at all.\n", ("pdf",), id="no-pdf-header"),
    pytest.param("blank.pdf", lambda: make_pdf([[]]), ("no text",), id="pdf-without-text"),
    pytest.param(
        "binary.txt",
        lambda: b"PK\x03\x04\x00\x00binary\x00data" * 10,
        ("binary",),
        id="binary-named-txt",
    ),
    pytest.param("empty.md", lambda: b"", ("empty",), id="empty-file"),
    pytest.param("blank.txt", lambda: b"  \n\n \t\n", ("empty",), id="whitespace-only"),
    pytest.param(
        "report.docx", lambda: b"PK\x03\x04 word document", ("unsupported", ".docx"), id="docx"
    ),
    pytest.param("data.xyz", lambda: b"some text", ("unsupported", ".xyz"), id="unknown-suffix"),
    pytest.param(
        "broken.md",
        lambda: b"---\ntitle: [unclosed\n---\nText.\n",
        ("front matter",),
        id="invalid-front-matter",
    ),
]


@pytest.mark.parametrize(("name", "content", "words"), BAD_FILES)
def test_bad_file_is_skipped_with_a_reason_and_the_rest_loads(
    tmp_path: Path, name: str, content, words: tuple[str, ...]
) -> None:
    write(tmp_path, "good.md", "# Good\n\nA good document about city bikes.\n")
    write(tmp_path, name, content())

    docs, skipped = load_documents(tmp_path)

    assert [d.id for d in docs] == ["good.md"]
    assert [s.path for s in skipped] == [name]
    reason = skipped[0].reason.lower()
    for word in words:
        assert word in reason, reason


def test_missing_documents_folder_raises_documents_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentsError, match="does not exist"):
        load_documents(tmp_path / "nowhere")


def test_the_default_corpus_loads_without_skips() -> None:
    docs, skipped = load_documents(DOCUMENTS)

    assert skipped == []
    assert len(docs) == len([p for p in DOCUMENTS.iterdir() if not p.name.endswith(".meta.yml")])
    for doc in docs:
        assert doc.title and doc.text and doc.content_hash
        assert doc.date, doc.id
        assert unicodedata.is_normalized("NFC", doc.text)
