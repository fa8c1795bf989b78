"""Documents: read Markdown, text, HTML and PDF files into plain records; bad files are reported.

Headings are kept in Markdown form (``## Heading``) in ``Document.text`` whatever the source format,
so the chunker can split every kind of document by its structure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DocumentsError
from ..text import detect_language, language_of

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
#: Sidecar metadata for formats without front matter: ``report.pdf.meta.yml``.
META_SUFFIX = ".meta.yml"
#: Files an editor or a copy leaves behind while writing; ignored without a warning.
_TEMP_PATTERNS = ("~", ".swp", ".tmp", ".part", ".crdownload", ".partial")


@dataclass(frozen=True)
class Document:
    """One source document, normalised. ``id`` is the path relative to the documents folder."""

    id: str
    title: str
    text: str
    source: str = ""
    date: str = ""
    language: str = ""
    topics: tuple[str, ...] = ()
    #: For PDFs: the character offset where each page starts in ``text`` (page n = index n-1).
    page_starts: tuple[int, ...] = ()
    content_hash: str = ""

    def page_at(self, offset: int) -> int | None:
        """The 1-based PDF page that holds character ``offset``, or None for other formats."""
        if not self.page_starts:
            return None
        page = 1
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i + 1
        return page


@dataclass(frozen=True)
class Skipped:
    """A file that could not be used, and why."""

    path: str
    reason: str


@dataclass
class Scan:
    """What a scan of the documents folder found: candidate files with their content hashes."""

    files: dict[str, Path] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


class UnreadableDocument(Exception):
    """Raised by a loader with a reason a person can act on."""


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def scan_folder(folder: Path) -> Scan:
    """List the supported files under ``folder`` with content hashes (sidecar metadata included)."""
    if not folder.is_dir():
        raise DocumentsError(
            f"The documents folder {folder} does not exist; create it and add documents, "
            "or point --documents / ASSISTANT_DOCUMENTS at the right folder."
        )
    scan = Scan()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if not path.is_file() or _ignored(path, folder):
            continue
        if rel.endswith(META_SUFFIX) or path.name.lower() == "readme.md" and path.parent == folder:
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            scan.skipped.append(Skipped(rel, f"unsupported file type '{path.suffix or path.name}'"))
            continue
        try:
            data = path.read_bytes()
            meta = _sidecar(path)
            digest = file_hash(data + (meta.read_bytes() if meta.is_file() else b""))
        except OSError as exc:
            scan.skipped.append(Skipped(rel, f"cannot be read ({exc.strerror or exc})"))
            continue
        scan.files[rel] = path
        scan.hashes[rel] = digest
    return scan


def load_document(path: Path, doc_id: str, content_hash: str = "") -> Document:
    """Parse one file. Raises UnreadableDocument with the reason when it cannot be used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableDocument(f"cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise UnreadableDocument("the file is empty")
    suffix = path.suffix.lower()
    meta = _read_sidecar(path)
    if suffix == ".pdf":
        fields_ = _load_pdf(data)
    else:
        if b"\x00" in data[:8192]:
            raise UnreadableDocument("looks like a binary file, not text")
        text = _decode(data)
        if suffix in (".html", ".htm"):
            fields_ = _load_html(text)
        elif suffix in (".md", ".markdown"):
            fields_ = _load_markdown(text)
        else:
            fields_ = _load_text(text)
    fields_.update({k: v for k, v in meta.items() if v})
    body = fields_.pop("text")
    if not body.strip():
        hint = " (a scanned PDF needs OCR first)" if suffix == ".pdf" else ""
        raise UnreadableDocument(f"no text could be extracted{hint}")
    title = normalise_line(str(fields_.pop("title", "") or "")) or _title_from_name(path)
    topics = fields_.pop("topics", ()) or ()
    if isinstance(topics, str):
        topics = [t.strip() for t in topics.split(",")]
    elif not isinstance(topics, list | tuple | set):
        topics = [topics]  # a single number or boolean in YAML
    return Document(
        id=doc_id,
        title=title,
        text=body,
        source=str(fields_.get("source", "") or ""),
        date=_date_str(fields_.get("date")),
        language=_language(fields_.get("language"), body),
        topics=tuple(str(t) for t in topics if str(t).strip()),
        page_starts=tuple(fields_.get("page_starts", ())),
        content_hash=content_hash or file_hash(data),
    )


def _language(stated: Any, body: str) -> str:
    """The document's language: as its metadata states it ("fi", "sv-FI"...), else detected."""
    if stated and str(stated).strip():
        return language_of(str(stated))
    return detect_language(body)[0]


def load_documents(folder: Path) -> tuple[list[Document], list[Skipped]]:
    """Load every usable document under ``folder``; unusable files are returned as Skipped."""
    scan = scan_folder(folder)
    docs, skipped = [], list(scan.skipped)
    for doc in iter_loaded(scan, scan.files, skipped):
        docs.append(doc)
    return docs, skipped


def iter_loaded(scan: Scan, ids: dict[str, Path], skipped: list[Skipped]) -> Iterator[Document]:
    """Load the files in ``ids`` (id -> path); failures are appended to ``skipped`` and logged."""
    for doc_id, path in ids.items():
        try:
            yield load_document(path, doc_id, scan.hashes.get(doc_id, ""))
        except UnreadableDocument as exc:
            log.warning("Skipping %s: %s", doc_id, exc)
            skipped.append(Skipped(doc_id, str(exc)))
        except Exception as exc:  # noqa: BLE001 - one odd file must never stop a build
            log.warning("Skipping %s: %s: %s", doc_id, type(exc).__name__, exc)
            skipped.append(Skipped(doc_id, f"could not be read ({type(exc).__name__}: {exc})"))


# --- text helpers ---------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLANKS = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """Unicode NFC, unified newlines, collapsed runs of spaces and blank lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def normalise_line(text: str) -> str:
    return " ".join(normalise_text(text).split())


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _title_from_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def _date_str(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value or "").strip()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


def _read_sidecar(path: Path) -> dict[str, Any]:
    meta = _sidecar(path)
    if not meta.is_file():
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(meta.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UnreadableDocument(f"its metadata file {meta.name} is not valid YAML") from exc
    return loaded if isinstance(loaded, dict) else {}


def _ignored(path: Path, folder: Path) -> bool:
    parts = path.relative_to(folder).parts
    name = path.name
    return any(p.startswith((".", "_")) for p in parts) or name.endswith(_TEMP_PATTERNS)


# --- loaders ---------------------------------------------------------------------------------


def _load_markdown(text: str) -> dict[str, Any]:
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise UnreadableDocument("its YAML front matter is not valid") from exc
    fields_: dict[str, Any] = dict(post.metadata)
    body = normalise_text(post.content)
    if not fields_.get("title"):
        match = re.search(r"^#\s+(.+)$", body, flags=re.M)
        if match:
            fields_["title"] = match.group(1)
    fields_["text"] = body
    return fields_


_LEADING_DATE = re.compile(r"^\s*(?:date\s*:?\s*)?(\d{4}-\d{2}-\d{2})\b", re.I)


def _load_text(text: str) -> dict[str, Any]:
    body = normalise_text(text)
    fields_: dict[str, Any] = {"text": body}
    match = _LEADING_DATE.match(body)
    if match:  # press releases often open with their date
        fields_["date"] = match.group(1)
    return fields_


def _load_html(html: str) -> dict[str, Any]:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(html)
    title = ""
    title_node = tree.css_first("title")
    if title_node is not None:
        title = title_node.text(strip=True)
    h1 = tree.css_first("h1")
    if not title and h1 is not None:
        title = h1.text(strip=True)
    tree.strip_tags(["script", "style", "noscript", "template", "svg", "iframe", "form"])
    root = tree.css_first("main") or tree.css_first("article") or tree.body
    if root is None:
        return {"text": "", "title": title}
    for tag in ("nav", "header", "footer", "aside"):
        for node in root.css(tag):
            node.decompose()
    blocks: list[str] = []
    for node in root.css("h1, h2, h3, h4, h5, h6, p, li, td, th, pre, blockquote, dd, dt"):
        if node.parent is not None and node.parent.tag in ("li", "blockquote", "td", "th"):
            continue
        text = normalise_line(node.text(separator=" "))
        if not text:
            continue
        tag = node.tag or ""
        if tag[:1] == "h" and tag[1:].isdigit():
            blocks.append("#" * int(tag[1:]) + " " + text)
        else:
            blocks.append(text)
    if not blocks:  # unstructured page: take all visible text
        blocks = [normalise_text(root.text(separator="\n"))]
    fields_: dict[str, Any] = {"text": "\n\n".join(blocks), "title": title}
    for meta in tree.css("meta"):
        name = (meta.attributes.get("name") or meta.attributes.get("property") or "").lower()
        content = meta.attributes.get("content") or ""
        if name in ("date", "article:published_time", "dc.date") and content:
            fields_["date"] = content[:10]
        elif name in ("og:url",) and content.startswith(("http://", "https://")):
            fields_["source"] = content
    canonical = tree.css_first("link[rel=canonical]")
    if canonical is not None and (canonical.attributes.get("href") or "").startswith("http"):
        fields_["source"] = canonical.attributes["href"]
    return fields_


def _load_pdf(data: bytes) -> dict[str, Any]:
    import io

    from pypdf import PdfReader

    if not data.startswith(b"%PDF"):
        raise UnreadableDocument("is not a valid PDF (no PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [normalise_text(page.extract_text() or "") for page in reader.pages]
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
        raise UnreadableDocument(f"is a damaged PDF ({type(exc).__name__}: {exc})") from exc
    starts, parts, offset = [], [], 0
    for text in pages:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 2
    return {"text": "\n\n".join(parts), "title": title, "page_starts": starts}
